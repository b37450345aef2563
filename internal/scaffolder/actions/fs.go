package actions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"

	"github.com/portico-dev/portico/internal/scaffolder"
)

func fsDelete() scaffolder.Action {
	return scaffolder.Action{
		ID:          "fs:delete",
		Description: "Deletes files and directories from the workspace.",
		Examples: []scaffolder.ActionExample{{
			Description: "Delete a file and every .tmp file",
			Example:     lines("steps:", "  - id: delete", "    action: fs:delete", "    input:", "      files:", "        - README.md", "        - '**/*.tmp'"),
		}},
		Schema: scaffolder.ActionSchema{Input: schema("", []string{"files"}, map[string]any{
			"files": stringList("Files and directories (globs allowed) to delete, relative to the workspace."),
		})},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Files []string `json:"files"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.Files == nil {
				return errors.New("input.files: required; list the files to delete")
			}
			var globs []*regexp.Regexp
			for i, f := range in.Files {
				clean, err := targetDir(fmt.Sprintf("files[%d]", i), f)
				if err != nil {
					return err
				}
				if clean == "." {
					return fmt.Errorf("input.files[%d]: %q is the whole workspace; name files inside it", i, f)
				}
				re, err := globRegexp(clean)
				if err != nil {
					return fmt.Errorf("input.files[%d]: %w", i, err)
				}
				globs = append(globs, re)
			}
			var matched []string
			err := fs.WalkDir(ac.Workspace.FS(), ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || p == "." {
					return err
				}
				if matchAny(globs, p) {
					matched = append(matched, p)
					if d.IsDir() {
						return fs.SkipDir
					}
				}
				return ctx.Err()
			})
			if err != nil {
				return err
			}
			for _, p := range matched {
				if err := ac.Workspace.RemoveAll(p); err != nil {
					return fmt.Errorf("delete %s: %w", p, err)
				}
				ac.Logger.Info("File " + p + " deleted successfully")
			}
			return nil
		},
	}
}

func fsRename() scaffolder.Action {
	return scaffolder.Action{
		ID:          "fs:rename",
		Description: "Renames files and directories in the workspace.",
		Examples: []scaffolder.ActionExample{{
			Description: "Rename a file",
			Example:     lines("steps:", "  - id: rename", "    action: fs:rename", "    input:", "      files:", "        - from: a.txt", "          to: b.txt", "          overwrite: true"),
		}},
		Schema: scaffolder.ActionSchema{Input: schema("", []string{"files"}, map[string]any{
			"files": map[string]any{
				"title": "Files to rename", "type": "array",
				"items": schema("", []string{"from", "to"}, map[string]any{
					"from":      prop("string", "The source location of the file to be renamed."),
					"to":        prop("string", "The destination of the new file."),
					"overwrite": prop("boolean", "Overwrite an existing file or directory at the destination (default false)."),
				}),
			},
		})},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Files []struct {
					From      string `json:"from"`
					To        string `json:"to"`
					Overwrite bool   `json:"overwrite"`
				} `json:"files"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.Files == nil {
				return errors.New("input.files: required; list {from, to} pairs")
			}
			for i, f := range in.Files {
				if f.From == "" || f.To == "" {
					return fmt.Errorf("input.files[%d]: needs both from and to", i)
				}
				from, err := targetDir(fmt.Sprintf("files[%d].from", i), f.From)
				if err != nil {
					return err
				}
				to, err := targetDir(fmt.Sprintf("files[%d].to", i), f.To)
				if err != nil {
					return err
				}
				if from == "." || to == "." {
					return fmt.Errorf("input.files[%d]: cannot rename the workspace itself", i)
				}
				if _, err := ac.Workspace.Lstat(from); err != nil {
					return fmt.Errorf("input.files[%d].from: %s does not exist in the workspace", i, f.From)
				}
				if _, err := ac.Workspace.Lstat(to); err == nil {
					if !f.Overwrite {
						return fmt.Errorf("input.files[%d].to: %s already exists; set overwrite: true to replace it", i, f.To)
					}
					if err := ac.Workspace.RemoveAll(to); err != nil {
						return fmt.Errorf("replace %s: %w", to, err)
					}
				}
				if d := path.Dir(to); d != "." {
					if err := ac.Workspace.MkdirAll(d, 0o755); err != nil {
						return fmt.Errorf("create directory %s: %w", d, err)
					}
				}
				if err := ac.Workspace.Rename(from, to); err != nil {
					return fmt.Errorf("rename %s to %s: %w", from, to, err)
				}
			}
			return nil
		},
	}
}

// dirItem is an entry that fs:readdir outputs.
type dirItem struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	FullPath string `json:"fullPath"`
}

func fsReaddir() scaffolder.Action {
	item := schema("", []string{"name", "path", "fullPath"}, map[string]any{
		"name": prop("string", "The file or directory name."), "path": prop("string", "The path relative to the workspace."),
		"fullPath": prop("string", "The absolute path."),
	})
	return scaffolder.Action{
		ID:          "fs:readdir",
		Description: "Lists the files and directories of paths in the workspace.",
		Examples: []scaffolder.ActionExample{{
			Description: "List a directory, recursively",
			Example:     lines("steps:", "  - id: list", "    action: fs:readdir", "    input:", "      paths: [src]", "      recursive: true"),
		}},
		Schema: scaffolder.ActionSchema{
			Input: schema("", []string{"paths"}, map[string]any{
				"paths":     stringList("Directories relative to the workspace to list."),
				"recursive": prop("boolean", "List subdirectories too (default false)."),
			}),
			Output: schema("", []string{"files", "folders"}, map[string]any{
				"files":   map[string]any{"type": "array", "items": item},
				"folders": map[string]any{"type": "array", "items": item},
			}),
		},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Paths     []string `json:"paths"`
				Recursive bool     `json:"recursive"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.Paths == nil {
				return errors.New("input.paths: required; list the directories to read")
			}
			files, folders := []dirItem{}, []dirItem{}
			for i, p := range in.Paths {
				dir, err := targetDir(fmt.Sprintf("paths[%d]", i), p)
				if err != nil {
					return err
				}
				err = fs.WalkDir(ac.Workspace.FS(), dir, func(q string, d fs.DirEntry, err error) error {
					if err != nil {
						if q == dir {
							return fmt.Errorf("input.paths[%d]: cannot read %s: %w", i, p, unwrapPath(err))
						}
						return err
					}
					if q == dir {
						return nil
					}
					it := dirItem{Name: d.Name(), Path: q, FullPath: filepath.Join(ac.WorkspacePath, filepath.FromSlash(q))}
					if d.IsDir() {
						folders = append(folders, it)
						if !in.Recursive {
							return fs.SkipDir
						}
						return nil
					}
					files = append(files, it)
					return ctx.Err()
				})
				if err != nil {
					return err
				}
			}
			ac.Output("files", jsonValue(files))
			ac.Output("folders", jsonValue(folders))
			return nil
		},
	}
}
