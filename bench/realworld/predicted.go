package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// predictionKinds are the findings heisen analyze makes of a race a run
// shows could happen, though it did not.
var predictionKinds = []string{"predictable-temp", "unlocked-update"}

// predicted prints what the findings in FILE predict, one item per kind
// and cause, "predictable-temp (clock-derived), unlocked-update", or
// "none".
func predicted(args []string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: realworld predicted FINDINGS")
	}
	fds, err := readFindings(args[0])
	if err != nil {
		return err
	}
	items := predictions(fds)
	if len(items) == 0 {
		items = []string{"none"}
	}
	_, err = fmt.Fprintln(out, strings.Join(items, ", "))
	return err
}

// predictions lists the distinct kinds and causes of the prediction
// findings in fds, sorted: the cause is the note's first words, up to its
// colon ("clock-derived").
func predictions(fds []*finding) []string {
	var items []string
	for _, f := range fds {
		if !slices.Contains(predictionKinds, f.Kind) {
			continue
		}
		item := f.Kind
		if cause, _, ok := strings.Cut(f.Note, ":"); ok {
			item += " (" + cause + ")"
		}
		if !slices.Contains(items, item) {
			items = append(items, item)
		}
	}
	slices.Sort(items)
	return items
}
