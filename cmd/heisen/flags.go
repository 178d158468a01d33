package main

import "strings"

// listFlag is the one type of repeatable flag: each use adds its value,
// or, with commas set, the items of its comma-separated list (empty items
// dropped). The first use replaces the default values.
type listFlag struct {
	vals   []string
	commas bool
	set    bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	if !l.set {
		l.vals, l.set = nil, true
	}
	if !l.commas {
		l.vals = append(l.vals, s)
		return nil
	}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}
