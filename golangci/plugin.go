// Package golangci is heisen's golangci-lint module plugin: it registers
// the filerace analyzer (github.com/heisen-dev/heisen/vet/filerace) as the
// linter "heisen" with github.com/golangci/plugin-module-register, so that
// a custom golangci-lint built with "golangci-lint custom" reports the same
// findings as heisen vet. It is a module of its own, so that the main
// module does not depend on golangci-lint's registry.
//
// Settings, under linters.settings.custom.heisen.settings in .golangci.yml:
//
//	disable: [unsynced-rename]   # categories not to report
package golangci

import (
	"fmt"
	"slices"

	"github.com/golangci/plugin-module-register/register"
	"github.com/heisen-dev/heisen/vet/filerace"
	"golang.org/x/tools/go/analysis"
)

func init() {
	register.Plugin("heisen", New)
}

// Settings are the plugin's settings.
type Settings struct {
	Disable []string `json:"disable"` // categories not to report, e.g. "in-place-rewrite"
}

type plugin struct {
	off []string
}

// New makes the plugin from its settings; an unknown kind is an error.
func New(conf any) (register.LinterPlugin, error) {
	s, err := register.DecodeSettings[Settings](conf)
	if err != nil {
		return nil, fmt.Errorf("heisen plugin settings: %w", err)
	}
	for _, c := range s.Disable {
		if !slices.Contains(filerace.Kinds, c) {
			return nil, fmt.Errorf("heisen plugin settings: disable: unknown kind %q; known: %v", c, filerace.Kinds)
		}
	}
	return &plugin{off: s.Disable}, nil
}

// BuildAnalyzers returns filerace, or a copy of it that drops the
// diagnostics of the disabled categories.
func (p *plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	if len(p.off) == 0 {
		return []*analysis.Analyzer{filerace.Analyzer}, nil
	}
	a := *filerace.Analyzer
	a.Run = func(pass *analysis.Pass) (any, error) {
		report := pass.Report
		pass.Report = func(d analysis.Diagnostic) {
			if !slices.Contains(p.off, d.Category) {
				report(d)
			}
		}
		return filerace.Analyzer.Run(pass)
	}
	return []*analysis.Analyzer{&a}, nil
}

// GetLoadMode asks for type information: filerace builds SSA.
func (p *plugin) GetLoadMode() string {
	return register.LoadModeTypesInfo
}
