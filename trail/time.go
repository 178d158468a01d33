package trail

import "time"

// parseTime decodes an RFC 3339 timestamp. The form writers produce,
// 2006-01-02T15:04:05.000000000Z, is decoded by hand (time.Parse costs
// more than the rest of a line); any other RFC 3339 form falls back to
// time.Parse.
func parseTime(b []byte) (time.Time, bool) {
	if writersForm(b) {
		year, ok1 := digits(b[0:4])
		month, ok2 := digits(b[5:7])
		day, ok3 := digits(b[8:10])
		hour, ok4 := digits(b[11:13])
		minute, ok5 := digits(b[14:16])
		sec, ok6 := digits(b[17:19])
		nsec, ok7 := digits(b[20:29])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 &&
			month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year) &&
			hour < 24 && minute < 60 && sec < 60 {
			days := daysFromCivil(year, month, day)
			unix := days*86400 + int64(hour*3600+minute*60+sec)
			return time.Unix(unix, int64(nsec)).UTC(), true
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// A clockCache parses timestamps, reusing the seconds of the last one in
// the writers' form: the lines of a trail mostly share their second, so
// only the fraction is new.
type clockCache struct {
	second [19]byte // "2006-01-02T15:04:05" of the last timestamp parsed by hand
	unix   int64    // its seconds since 1970
	valid  bool
}

// parse decodes an RFC 3339 timestamp as parseTime does.
func (c *clockCache) parse(b []byte) (time.Time, bool) {
	if c.valid && len(b) == 30 && string(b[:19]) == string(c.second[:]) && b[19] == '.' && b[29] == 'Z' {
		if nsec, ok := digits(b[20:29]); ok {
			return time.Unix(c.unix, int64(nsec)).UTC(), true
		}
		return time.Time{}, false
	}
	t, ok := parseTime(b)
	if ok && writersForm(b) {
		copy(c.second[:], b)
		c.unix, c.valid = t.Unix(), true
	}
	return t, ok
}

// writersForm reports whether b has the separators of the form writers
// produce, 2006-01-02T15:04:05.000000000Z.
func writersForm(b []byte) bool {
	return len(b) == 30 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' &&
		b[16] == ':' && b[19] == '.' && b[29] == 'Z'
}

func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
