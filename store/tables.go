package store

import (
	"fmt"

	"esa/store/bounces"
	"esa/store/certs"
	"esa/store/dictionaries"
	"esa/store/domainkeys"
	"esa/store/filters"
	"esa/store/mailflow"
	"esa/store/quarantines"
	"esa/store/routes"
	"esa/store/users"

	"reflect"
	"sync"
)

// table describes one configuration table: the Config field it lives in,
// its name (the bbolt key, the XML element and the name Changed reports) and
// its validator. Everything else (storage, copy, comparison, the text form)
// is derived from the Go type by reflection, so a later issue adds a table by
// adding a field to Config and one line to tables.
type table struct {
	name     string
	field    func(c *Config) any // pointer to the table's value inside c
	validate func(c *Config) error
}

// tables is the one explicit list of configuration tables, in file order.
var tables = []table{
	{name: "system", field: func(c *Config) any { return &c.System }, validate: validateSystem},
	{name: "logs", field: func(c *Config) any { return &c.Logs }, validate: validateLogs},
	{name: "dns", field: func(c *Config) any { return &c.DNS }, validate: validateDNS},
	{name: "listeners", field: func(c *Config) any { return &c.Listeners }, validate: validateListeners},
	{name: "destinations", field: func(c *Config) any { return &c.Destinations }, validate: func(c *Config) error {
		return tableError("destinations", "destination", c.Destinations.Validate())
	}},
	{name: "bounces", field: func(c *Config) any { return &c.Bounces }, validate: func(c *Config) error {
		err := c.Bounces.Validate()
		if e, ok := err.(*bounces.EntryError); ok {
			return &ValidationError{"bounces", fmt.Sprintf("profile[%d]", e.Index+1), e.Err.Error()}
		}
		return tableError("bounces", "profile", err)
	}},
	{name: "routes", field: func(c *Config) any { return &c.Routes }, validate: func(c *Config) error {
		err := c.Routes.Validate()
		if e, ok := err.(*routes.EntryError); ok {
			return &ValidationError{"routes", fmt.Sprintf("route[%d]", e.Index+1), e.Err.Error()}
		}
		return tableError("routes", "route", err)
	}},
	{name: "users", field: func(c *Config) any { return &c.Users }, validate: func(c *Config) error {
		return tableError("users", "user", users.Validate(c.Users.Users))
	}},
	{name: "certificates", field: func(c *Config) any { return &c.Certificates }, validate: validateCertificates},
	{name: "domainkeys", field: func(c *Config) any { return &c.DomainKeys }, validate: validateDomainKeys},
	{name: "dmarc", field: func(c *Config) any { return &c.DMARC }, validate: validateDMARC},
	{name: "dictionaries", field: func(c *Config) any { return &c.Dictionaries }, validate: func(c *Config) error {
		err := c.Dictionaries.Validate()
		if e, ok := err.(*dictionaries.EntryError); ok {
			return &ValidationError{"dictionaries", fmt.Sprintf("dictionary[%d]", e.Index+1), e.Err.Error()}
		}
		return tableError("dictionaries", "dictionary", err)
	}},
	{name: "filters", field: func(c *Config) any { return &c.Filters }, validate: func(c *Config) error {
		// The quarantines and content dictionaries a filter names must
		// exist: a filter cannot name a missing one, nor can one in use be
		// deleted.
		err := c.Filters.Check(
			func(q string) bool { return c.Quarantines.Quarantine(q) != nil },
			func(d string) bool { return c.Dictionaries.Dictionary(d) != nil })
		if e, ok := err.(*filters.EntryError); ok {
			return &ValidationError{"filters", fmt.Sprintf("filter[%d]", e.Index+1), e.Err.Error()}
		}
		return tableError("filters", "filter", err)
	}},
	{name: "quarantines", field: func(c *Config) any { return &c.Quarantines }, validate: validateQuarantines},
}

// value is the addressable reflect.Value of table t inside c.
func (t table) value(c *Config) reflect.Value {
	return reflect.ValueOf(t.field(c)).Elem()
}

// copyTable sets table t of dst to an independent copy of table t of src.
func (t table) copyTable(dst, src *Config) {
	t.value(dst).Set(deepCopy(t.value(src)))
}

// tableIndex returns the index of the named table, or -1.
func tableIndex(name string) int {
	for i, t := range tables {
		if t.name == name {
			return i
		}
	}
	return -1
}

// Clone returns an independent deep copy of c: no slice or map is shared, so
// a session may edit its pending copy while the engine reads the committed one.
func (c Config) Clone() Config {
	var out Config
	for _, t := range tables {
		t.copyTable(&out, &c)
	}
	return out
}

// deepCopy copies plain configuration data: structs, slices, maps, pointers
// and scalars. Configuration types hold nothing else (no channels, funcs or
// unexported state).
func deepCopy(v reflect.Value) reflect.Value {
	if !hasRefs(v.Type()) {
		return v
	}
	switch v.Kind() {
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if hasRefs(v.Type().Field(i).Type) && n.Field(i).CanSet() {
				n.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		if !hasRefs(v.Type().Elem()) {
			reflect.Copy(n, v)
			return n
		}
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	}
	return v
}

// refsCache memoises hasRefs per type; copying a 1,000-entry table happens
// on every Update and Commit.
var refsCache sync.Map // reflect.Type -> bool

// hasRefs reports whether values of t share memory when assigned (contain a
// slice, map or pointer), i.e. need more than a plain assignment to copy.
func hasRefs(t reflect.Type) bool {
	if r, ok := refsCache.Load(t); ok {
		return r.(bool)
	}
	r := false
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		r = true
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if hasRefs(t.Field(i).Type) {
				r = true
			}
		}
	case reflect.Array:
		r = hasRefs(t.Elem())
	}
	refsCache.Store(t, r)
	return r
}

// canonical replaces empty lists with nil, the form the file reader gives,
// so that a configuration compares equal to itself read back from a file.
func canonical(v reflect.Value) {
	if !hasRefs(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				canonical(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			if !v.IsNil() && v.CanSet() {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			canonical(v.Index(i))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			canonical(v.Elem())
		}
	}
}

// tableError names the table in a leaf validator's error.
func tableError(table, key string, err error) error {
	if err == nil {
		return nil
	}
	return &ValidationError{table, key, err.Error()}
}

func validateListeners(c *Config) error {
	l := &c.Listeners
	bad := func(key string, v, lo, hi int) error {
		if v < lo || v > hi {
			return &ValidationError{"listeners", key, fmt.Sprintf("must be %d to %d, got %d", lo, hi, v)}
		}
		return nil
	}
	if err := bad("command_timeout", l.CommandTimeout, 10, 3600); err != nil {
		return err
	}
	if err := bad("data_timeout", l.DataTimeout, 10, 7200); err != nil {
		return err
	}
	if err := bad("max_connections", l.MaxConnections, 1, 100000); err != nil {
		return err
	}
	return tableError("listeners", "listener", mailflow.ValidateListeners(l.Listeners))
}

// validateCertificates checks the certconfig table and that every
// listener's STARTTLS certificate exists: a certificate in use cannot be
// deleted.
func validateCertificates(c *Config) error {
	uses := make([]string, len(c.Listeners.Listeners))
	for i, l := range c.Listeners.Listeners {
		uses[i] = l.Certificate
	}
	return tableError("certificates", "certificate", certs.Validate(c.Certificates, uses))
}

// validateDMARC checks the dmarcconfig table, that the quarantines its
// profiles send messages to exist, and that every DMARC verification
// profile a mail-flow policy names (dmarc_profile) exists: a profile in
// use cannot be deleted.
func validateDMARC(c *Config) error {
	if err := c.DMARC.Validate(); err != nil {
		return tableError("dmarc", "dmarc", err)
	}
	names := make([]string, len(c.Quarantines.Quarantines))
	for i, q := range c.Quarantines.Quarantines {
		names[i] = q.Name
	}
	if err := c.DMARC.CheckQuarantines(names); err != nil {
		return tableError("dmarc", "profile", err)
	}
	var uses []string
	for _, l := range c.Listeners.Listeners {
		ps := l.HAT.Default
		for _, p := range l.HAT.Policies {
			ps = append(ps[:len(ps):len(ps)], p.Params...)
		}
		for _, p := range ps {
			if p.Key == "dmarc_profile" {
				uses = append(uses, p.Value)
			}
		}
	}
	return tableError("dmarc", "profile", c.DMARC.CheckUses(uses))
}

// validateDomainKeys checks the domainkeysconfig table and that every
// verification profile a mail-flow policy names exists.
func validateDomainKeys(c *Config) error {
	if err := domainkeys.Validate(c.DomainKeys); err != nil {
		return tableError("domainkeys", "domainkeys", err)
	}
	var uses []string
	for _, l := range c.Listeners.Listeners {
		ps := l.HAT.Default
		for _, p := range l.HAT.Policies {
			ps = append(ps[:len(ps):len(ps)], p.Params...)
		}
		for _, p := range ps {
			if p.Key == "dkim_profile" {
				uses = append(uses, p.Value)
			}
		}
	}
	return tableError("domainkeys", "verification", domainkeys.CheckVerificationUses(c.DomainKeys, uses))
}

// validateQuarantines checks the quarantineconfig table. The quarantines
// that DMARC profiles name are checked in the dmarc entry (validateDMARC,
// which runs first) and filters' quarantine("...") actions in the filters
// entry: either refuses deleting a quarantine in use.
func validateQuarantines(c *Config) error {
	err := c.Quarantines.Validate()
	if e, ok := err.(*quarantines.EntryError); ok {
		return &ValidationError{"quarantines", fmt.Sprintf("quarantine[%d]", e.Index+1), e.Err.Error()}
	}
	return tableError("quarantines", "quarantine", err)
}
