//go:build portico_azure || portico_cloud

package workspaces

// The azure driver adds tens of megabytes to the binary, so it is linked only
// into builds tagged portico_azure or portico_cloud.
import _ "gocloud.dev/blob/azureblob"
