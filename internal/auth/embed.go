package auth

import (
	"io/fs"
)

// mustSub returns the subdirectory of an embedded tree; the directory is
// part of the binary, so a failure is a build mistake.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
