// Command buildui builds Portico's web UI into web/dist when the build
// there is older than its sources: it runs `npm ci` when node_modules is
// missing or older than package-lock.json, then `npm run build`. It is what
// `go generate ./web` runs; the Go build then embeds web/dist.
//
// Flags: -force rebuilds even when dist is up to date.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	force := flag.Bool("force", false, "build even when web/dist is newer than the sources")
	flag.Parse()
	if err := run(*force); err != nil {
		fmt.Fprintln(os.Stderr, "buildui:", err)
		os.Exit(1)
	}
}

// sources are the files and directories whose changes make dist stale,
// relative to web/.
var sources = []string{"src", "index.html", "public", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"}

func run(force bool) error {
	dir, err := webDir()
	if err != nil {
		return err
	}
	built, err := modTime(filepath.Join(dir, "dist", "index.html"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var newest time.Time
	for _, s := range sources {
		t, err := newestUnder(filepath.Join(dir, s))
		if err != nil {
			return err
		}
		if t.After(newest) {
			newest = t
		}
	}
	if !force && !built.IsZero() && !newest.After(built) {
		fmt.Println("buildui: web/dist is up to date")
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("npm not found: install Node.js 20.19 or newer (with npm) to build the web UI: %w", err)
	}
	installed, err := modTime(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	lock, err := modTime(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("web/package-lock.json: %w", err)
	}
	if installed.IsZero() || lock.After(installed) {
		if err := npm(dir, "ci", "--no-audit", "--no-fund"); err != nil {
			return err
		}
	}
	return npm(dir, "run", "build")
}

// webDir finds web/: go generate runs in the package directory, but the
// command may also be run from the repository root.
func webDir() (string, error) {
	for _, d := range []string{".", "web"} {
		if _, err := os.Stat(filepath.Join(d, "package.json")); err == nil {
			return filepath.Abs(d)
		}
	}
	return "", errors.New("web/package.json not found: run from the repository root or from web/")
}

func npm(dir string, args ...string) error {
	fmt.Println("buildui: npm", args)
	cmd := exec.Command("npm", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %v in %s: %w", args, dir, err)
	}
	return nil
}

func modTime(p string) (time.Time, error) {
	info, err := os.Stat(p)
	if err != nil {
		return time.Time{}, err
	}
	return info.ModTime(), nil
}

// newestUnder returns the newest modification time of p or any file below
// it (zero when p does not exist).
func newestUnder(p string) (time.Time, error) {
	var newest time.Time
	err := filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	return newest, err
}
