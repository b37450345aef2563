// Package workspaces keeps scaffolder task workspaces outside the process,
// so a task recovered on this or another replica finds the files its
// earlier steps wrote: in the database (table scaffolder_task_workspaces)
// or in bucket storage (gocloud.dev/blob: local files, GCS, S3, Azure).
//
// A workspace is stored as an uncompressed tar of its directory, the
// format Backstage's providers use. Extraction goes through an os.Root, so
// an archive naming "../x" or an absolute path cannot write outside the
// target directory.
package workspaces

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrTooLarge is returned when a workspace is larger than a provider
// accepts.
var ErrTooLarge = errors.New("workspace too large")

// WriteTar writes the contents of dir as an uncompressed tar to w: regular
// files, directories and symbolic links, with their permission bits.
func WriteTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), ModTime: info.ModTime(), Format: tar.FormatPAX}
		switch {
		case d.Type().IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = info.Size()
		case d.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = target
		default:
			return nil // sockets, devices: nothing a template produces
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		// The header promised Size bytes; a file that grew meanwhile is
		// cut at that size rather than corrupting the archive.
		_, err = io.Copy(tw, io.LimitReader(f, hdr.Size))
		return err
	})
	if err != nil {
		return fmt.Errorf("archive workspace %s: %w", dir, err)
	}
	return tw.Close()
}

// ExtractTar unpacks an archive that WriteTar wrote into dir. Every entry
// is created through an os.Root opened on dir, so names with "../", absolute
// names and links that lead outside dir are refused.
func ExtractTar(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open workspace %s: %w", dir, err)
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read workspace archive: %w", err)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
		case tar.TypeReg:
			if err := mkParent(root, name); err != nil {
				return fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode|0o200)
			if err != nil {
				return fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
		case tar.TypeSymlink:
			// The link itself lives inside dir; following it later through
			// an os.Root cannot leave dir either.
			if err := mkParent(root, name); err != nil {
				return fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
		default:
			// Hard links, devices and the like are not part of a
			// workspace; skip them rather than fail a recovery.
		}
	}
}

// entryName checks an archive entry's name and returns it cleaned.
func entryName(name string) (string, error) {
	clean := path.Clean(strings.TrimSuffix(name, "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("workspace archive entry %q is outside the workspace", name)
	}
	return clean, nil
}

func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		return root.MkdirAll(dir, 0o755)
	}
	return nil
}

// capWriter fails once more than max bytes were written.
type capWriter struct {
	w   io.Writer
	n   int64
	max int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.n > c.max {
		return 0, ErrTooLarge
	}
	return c.w.Write(p)
}
