package ignore

import (
	"os"
)

func suppressed(target string, data []byte) error {
	//heisen:ignore predictable-temp: one writer per host, serialized by a lock file
	f, err := os.Create(target + ".tmp")
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(target+".tmp", target)
}

func sameLine(target string, data []byte) error {
	f, err := os.Create(target + ".tmp") //heisen:ignore predictable-temp: callers hold a flock on target
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(target+".tmp", target)
}

func noReason(target string, data []byte) error {
	//heisen:ignore predictable-temp // want `heisen:ignore needs a reason`
	f, err := os.Create(target + ".tmp") // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Write(data)
	f.Sync()
	f.Close()
	return os.Rename(target+".tmp", target)
}

//heisen:ignore predictible-temp: typo // want `heisen:ignore names unknown kind "predictible-temp"`
func unknownCategory() {}

// An ignore for another kind does not hide this one.
func otherCategory(target string, data []byte) error {
	//heisen:ignore unsynced-rename: the file is empty
	f, err := os.Create(target + ".tmp") // want `predictable-temp`
	if err != nil {
		return err
	}
	f.Close()
	return os.Rename(target+".tmp", target)
}
