package store

import "testing"

func TestCheckAlter_OnlyOneAddColumn(t *testing.T) {
	for _, c := range []struct {
		stmt string
		ok   bool
	}{
		{"CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = Memory", true},
		{"ALTER TABLE db.t ADD COLUMN fee Float64 DEFAULT 0", true},
		{"alter table db.t\n    add column price Decimal(10, 2)", true},
		{"ALTER TABLE t ADD COLUMN fee Float64", false},                    // no database: not checkable
		{"ALTER TABLE db.t ADD COLUMN a UInt8, ADD COLUMN b UInt8", false}, // the first column existing says nothing of the second
		{"ALTER TABLE db.t DROP COLUMN fee", false},                        // no IF EXISTS on 18.16
		{"ALTER TABLE db.t MODIFY COLUMN fee Float32", false},              // not checked
		{"ALTER TABLE db.t ADD COLUMN IF NOT EXISTS fee Float64", false},   // not on 18.16
		{"ALTER TABLE db.t ADD COLUMN fee Float64 DEFAULT 0 AFTER handle", true},
	} {
		err := checkAlter(c.stmt)
		if (err == nil) != c.ok {
			t.Errorf("checkAlter(%q) = %v, want ok %v", c.stmt, err, c.ok)
		}
	}
}
