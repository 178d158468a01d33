//go:build linux && (amd64 || arm64)

package record

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/heisen-dev/heisen/record/bpf"
)

// loadObjects creates spec's maps and loads its programs into objs, doing
// what does not depend on each other at the same time: the kernel's BTF
// is parsed while the maps are created, then every program is relocated
// and verified in its own goroutine (the kernel verifies programs of a
// privileged loader in parallel, and the verifier's time is most of the
// start). It returns how long each step took, in the order they began.
func loadObjects(spec *ebpf.CollectionSpec, objs *bpf.RecordObjects) ([]LoadStep, error) {
	start := time.Now()
	cache := btf.NewCache()
	var btfStep LoadStep
	var btfErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		_, btfErr = cache.Kernel()
		btfStep = LoadStep{Name: "kernel BTF", Took: time.Since(start)}
	})
	mapSpec := spec.Copy()
	mapSpec.Programs = nil
	mapsColl, mapsErr := ebpf.NewCollectionWithOptions(mapSpec, ebpf.CollectionOptions{Cache: cache})
	mapsStep := LoadStep{Name: "maps", Took: time.Since(start)}
	wg.Wait()
	if mapsErr != nil {
		return nil, fmt.Errorf("record: create eBPF maps: %w", mapsErr)
	}
	defer mapsColl.Close() // what Assign did not take
	if btfErr != nil {
		return nil, fmt.Errorf("record: read kernel BTF: %w", btfErr)
	}
	steps := []LoadStep{btfStep, mapsStep}

	progStart := time.Now()
	names := slices.Sorted(maps.Keys(spec.Programs))
	progs := make([]*ebpf.Program, len(names))
	progSteps := make([]LoadStep, len(names))
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Go(func() {
			begin := time.Now()
			progs[i], errs[i] = loadProgram(spec, name, mapsColl.Maps, cache)
			progSteps[i] = LoadStep{Name: name, Took: time.Since(begin)}
			if errs[i] == nil {
				if info, err := progs[i].Info(); err == nil {
					progSteps[i].Insns, _ = info.VerifiedInstructions()
				}
			}
		})
	}
	wg.Wait()
	all := &ebpf.Collection{Programs: map[string]*ebpf.Program{}, Maps: mapsColl.Maps, Variables: mapsColl.Variables}
	defer func() {
		for _, p := range all.Programs {
			p.Close()
		}
	}()
	for i, p := range progs {
		if p != nil {
			all.Programs[names[i]] = p
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	steps = append(steps, progSteps...)
	steps = append(steps, LoadStep{Name: "programs", Took: time.Since(progStart)})
	if err := all.Assign(objs); err != nil {
		return nil, fmt.Errorf("record: assign eBPF objects: %w", err)
	}
	return steps, nil
}

// loadProgram loads the program name of spec against the maps already
// created.
func loadProgram(spec *ebpf.CollectionSpec, name string, maps map[string]*ebpf.Map, cache *btf.Cache) (*ebpf.Program, error) {
	one := &ebpf.CollectionSpec{Maps: spec.Maps, Types: spec.Types, ByteOrder: spec.ByteOrder,
		Programs: map[string]*ebpf.ProgramSpec{name: spec.Programs[name]}}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: maps, Cache: cache})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("record: kernel verifier rejected %s: %+v", name, ve)
		}
		return nil, fmt.Errorf("record: load eBPF program %s: %w", name, err)
	}
	defer coll.Close() // its copies of the maps
	return coll.DetachProgram(name), nil
}
