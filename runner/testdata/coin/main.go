// Command coin fails with a fixed probability that nothing about timing can
// change: the n-th call (a counter kept in the file named by COIN_COUNTER)
// fails when a hash of n falls below COIN_PERCENT. The sequence is
// pseudo-random yet fixed, so a test that runs coin in a fixed order sees
// the same failures every time.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	path := os.Getenv("COIN_COUNTER")
	percent, _ := strconv.Atoi(os.Getenv("COIN_PERCENT"))
	b, _ := os.ReadFile(path)
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err := os.WriteFile(path, []byte(strconv.FormatUint(n+1, 10)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if splitmix(n)%100 < uint64(percent) {
		fmt.Println("unlucky")
		os.Exit(1)
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
