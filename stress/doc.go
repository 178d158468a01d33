// Package stress reproduces file-write races on demand and measures them.
//
// W writer processes replace one target file N times each with one of
// [Strategies] while R reader processes read it continuously. Every process
// (a worker: a writer or a reader) is real: Run starts them by re-executing a binary that calls [WorkerMain]
// (the heisen binary's hidden "stress-worker" command, or a test binary
// whose TestMain checks [WorkerEnv]), and holds them on a pipe until all
// are running, so they start within microseconds of each other.
//
// Guarantees:
//
//   - Corruption is judged from the bytes alone. Every version carries a
//     header (writer, sequence, length, CRC-32C) and a body derived from
//     it; [Validate] rejects any version that is not byte for byte what its
//     header derives, and says whether it is empty, truncated or spliced
//     and where each of its bytes came from.
//   - Every distinct version a reader sees is checked, and each writer
//     checks the target right after its own replace, so a splice that
//     lives for microseconds is still caught.
//   - Nothing is trusted from a trail. A trail (the writers' own, or one an
//     attached recorder writes) is only used afterwards by [Explain], to
//     link each corruption to the analyze finding that explains it.
//   - Counts are per write: a write seen corrupt several times (an in-place
//     write caught at 1 KiB, then at 2 KiB) counts once, so rates are
//     proportions and [Plan] reports them with Wilson intervals.
//
// A [Plan] runs strategies × observers (none, strace, trail, record) with
// one budget, interleaved in rounds, to measure how watching changes a
// race: the story's bug vanished under strace.
package stress
