//go:build portico_s3 || portico_cloud

package workspaces

// The s3 driver adds tens of megabytes to the binary, so it is linked only
// into builds tagged portico_s3 or portico_cloud.
import _ "gocloud.dev/blob/s3blob"
