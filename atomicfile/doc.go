// Package atomicfile replaces files race-free and crash-safe.
package atomicfile
