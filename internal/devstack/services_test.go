package devstack_test

import (
	"os"
	"testing"

	"github.com/skydeploy/skydeploy/internal/testenv"
)

// The dev server's database file is write-ahead logged: SQLite records the journal mode in the
// file's header (bytes 18 and 19 are 2 for WAL, 1 for a rollback journal).
func TestTemporalDatabaseIsWriteAheadLogged(t *testing.T) {
	tmp := testenv.StartTemporal(t)
	f, err := os.Open(tmp.DBFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := make([]byte, 20)
	if _, err := f.ReadAt(header, 0); err != nil {
		t.Fatalf("read database header: %v", err)
	}
	if string(header[:15]) != "SQLite format 3" || header[18] != 2 || header[19] != 2 {
		t.Fatalf("database header %q: want SQLite format 3 with write/read versions 2 (WAL), got %d/%d", header[:16], header[18], header[19])
	}
	if _, err := os.Stat(tmp.DBFile + "-wal"); err != nil {
		t.Fatalf("no write-ahead log beside the database: %v", err)
	}
}
