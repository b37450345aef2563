//go:build portico_gcs || portico_cloud

package workspaces

// The gcs driver adds tens of megabytes to the binary, so it is linked only
// into builds tagged portico_gcs or portico_cloud.
import _ "gocloud.dev/blob/gcsblob"
