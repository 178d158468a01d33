package racy

import "testing"

func TestSave(t *testing.T) {
	if err := Save(t.TempDir()+"/x", nil); err != nil {
		t.Fatal(err)
	}
}
