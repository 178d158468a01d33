// Package broken is mid-edit: one function does not type-check.
package broken

// Dir is where the other packages write.
const Dir = "/var/lib/partial"

func half() int { return "not an int" }
