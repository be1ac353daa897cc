package commands

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"esa/shell"
	"esa/store"
	"esa/store/routes"
)

const smtproutesHelp = `smtproutes

Configure permanent SMTP routes: mail for a domain goes to the hosts you
name instead of the domain's MX hosts. The route's key is a domain
(example.com), a partial domain (.example.com: its subdomains, not
example.com itself) or ALL, the default route for every other domain. A
domain's own route wins over a partial domain's, the longest partial
domain over a shorter one, and both over ALL. Destinations are separated
by commas, each a host name or IP address with an optional :port and
/pri=N (0 to 65535; lower numbers are tried first, equal ones share the
load); [host] resolves the host by its address records only, ignoring its
MX records; USEDNS alone delivers by DNS after all (an exception to a
partial or default route); /dev/null alone accepts and discards the mail.
  NEW    - add a route
  EDIT   - ADD destinations to a route, REPLACE them, or REMOVE one
  DELETE - remove a route (for ALL: reset the default route)
  PRINT  - show the routes in the file format
  IMPORT - replace every route with those of a file in DATA/configuration,
           one route a line ("example.com mx1.example.com,mx2:2525/pri=10",
           the default route as "ALL:"); a file with an error is refused
           whole, naming the line, and nothing changes
  EXPORT - write the routes to a file in DATA/configuration
  CLEAR  - remove every route, after confirmation
Each completed operation is a pending change of this session until commit;
an empty answer at the menu returns to the prompt.`

var smtproutesOps = []shell.Op{
	{Name: "NEW", Desc: "Create a new route."},
	{Name: "EDIT", Desc: "Edit destinations of an existing route."},
	{Name: "DELETE", Desc: "Remove a route."},
	{Name: "PRINT", Desc: "Display all routes."},
	{Name: "IMPORT", Desc: "Import new routes from a file."},
	{Name: "EXPORT", Desc: "Export all routes to a file."},
	{Name: "CLEAR", Desc: "Remove all routes."},
}

// smtproutesEmptyOps is the menu of an empty table: there is nothing to
// edit, delete, print, export or clear.
var smtproutesEmptyOps = []shell.Op{smtproutesOps[0], smtproutesOps[4]}

func smtproutesCommand(env *Env) shell.Command {
	kw := make([]string, len(smtproutesOps))
	for i, op := range smtproutesOps {
		kw[i] = op.Name
	}
	return shell.Command{
		Name:     "smtproutes",
		Summary:  "Set up permanent domain redirections",
		Help:     smtproutesHelp,
		Keywords: kw,
		Run: func(io *shell.IO, args []string) error {
			for {
				t := env.Session.Config().Routes
				ops := smtproutesOps
				switch n := len(t.Routes); n {
				case 0:
					io.Printf("\nThere are no routes configured.\n")
					ops = smtproutesEmptyOps
				case 1:
					io.Printf("\nThere is currently 1 route configured.\n")
				default:
					io.Printf("\nThere are currently %d routes configured.\n", n)
				}
				op, err := io.Menu(ops)
				if err != nil || op == "" {
					return err
				}
				var next *routes.Table
				switch op {
				case "NEW":
					next, err = routeNew(io, t)
				case "EDIT":
					next, err = routeEdit(io, t)
				case "DELETE":
					next, err = routeDelete(io, t)
				case "PRINT":
					io.Printf("\n")
					routes.Write(io.Out, t)
				case "IMPORT":
					next, err = routeImport(io, env, t)
				case "EXPORT":
					err = exportTable(io, env, func(b *bytes.Buffer) error { return routes.Write(b, t) })
				case "CLEAR":
					var sure bool
					sure, err = io.YesNo("Are you sure you want to delete all of the configured routes?", false)
					if err == nil && sure {
						next = &routes.Table{}
						io.Printf("\nAll routes have been deleted.\n")
					}
				}
				if err != nil {
					return err
				}
				if next != nil {
					applyRoutes(io, env, *next)
				}
			}
		},
	}
}

// applyRoutes makes one completed operation a pending change. The answers
// were checked by the table's own rules; a refusal here would be a bug,
// shown rather than hidden.
func applyRoutes(io *shell.IO, env *Env, t routes.Table) {
	if err := env.Session.Update(func(c *store.Config) error {
		c.Routes = t
		return nil
	}); err != nil {
		io.Printf("%v\n", err)
		io.Fail()
	}
}

// routeIndex finds the route with key d, or -1.
func routeIndex(t routes.Table, d string) int {
	for i, r := range t.Routes {
		if r.Domain == d {
			return i
		}
	}
	return -1
}

const destinationHelp = `Enter USEDNS by itself to use normal DNS resolution for this route.
Enter /dev/null by itself if you wish to discard the mail.
Enclose in square brackets to force resolution via address (A) records, ignoring any MX records.`

// askDestinations asks for a destination list; have are the destinations
// the route keeps, which the new ones must not repeat.
func askDestinations(io *shell.IO, question string, have []routes.Destination) ([]routes.Destination, error) {
	var ds []routes.Destination
	_, err := io.Ask(question, "", func(a string) (string, error) {
		add, err := routes.ParseDestinations(a)
		if err != nil {
			return "", sentence(err)
		}
		all := append(append([]routes.Destination(nil), have...), add...)
		if err := routes.CheckDestinations(all); err != nil {
			return "", sentence(err)
		}
		ds = add
		return a, nil
	})
	return ds, err
}

func destinationsText(ds []routes.Destination) string {
	return routes.Route{Destinations: ds}.DestinationsText()
}

func routeNew(io *shell.IO, t routes.Table) (*routes.Table, error) {
	if len(t.Routes) >= routes.MaxRoutes {
		io.Printf("\nThere is a maximum of %d routes.\n", routes.MaxRoutes)
		io.Fail()
		return nil, nil
	}
	d, err := io.Ask("Enter the domain for which you want to set up a permanent route.\n"+
		"Partial hostnames such as \".example.com\" are allowed.\n"+
		"Use \"ALL\" for the default route.", "", func(a string) (string, error) {
		d, err := routes.ParseDomain(a)
		if err != nil {
			return "", fmt.Errorf("Invalid domain %q: enter a domain, a partial domain such as .example.com, or ALL.", a)
		}
		if routeIndex(t, d) >= 0 {
			if d == routes.All {
				return "", errors.New("There is already a default route set.")
			}
			return "", fmt.Errorf("The value %s is already in the routing table.", d)
		}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	ds, err := askDestinations(io, "Enter the destination hosts, separated by commas, which you want mail for "+d+" to be delivered.\n"+destinationHelp, nil)
	if err != nil {
		return nil, err
	}
	t.Routes = append(t.Routes[:len(t.Routes):len(t.Routes)], routes.Route{Domain: d, Destinations: ds})
	io.Printf("\nMapping for %s to %s created.\n", d, destinationsText(ds))
	return &t, nil
}

// askRoute asks for the key of an existing route; -1 for an empty answer.
func askRoute(io *shell.IO, t routes.Table, verb string) (int, error) {
	a, err := io.AskOptional("Enter the domain you want to "+verb+".", "", func(a string) (string, error) {
		d, err := routes.ParseDomain(a)
		if err == nil && routeIndex(t, d) >= 0 {
			return d, nil
		}
		return "", fmt.Errorf("The %s entry does not appear to be in the routing table.", a)
	})
	if err != nil || a == "" {
		return -1, err
	}
	return routeIndex(t, a), nil
}

var routeEditOps = []shell.Op{
	{Name: "ADD", Desc: "Add new destination hosts."},
	{Name: "REPLACE", Desc: "Specify a new destination or set of destinations."},
	{Name: "REMOVE", Desc: "Remove a destination."},
}

func routeEdit(io *shell.IO, t routes.Table) (*routes.Table, error) {
	i, err := askRoute(io, t, "edit")
	if err != nil || i < 0 {
		return nil, err
	}
	r := t.Routes[i]
	io.Printf("\nCurrent destinations for %s: %s\n", r.Domain, r.DestinationsText())
	op, err := io.Menu(routeEditOps)
	if err != nil || op == "" {
		return nil, err
	}
	var ds []routes.Destination
	switch op {
	case "ADD":
		if len(r.Destinations) >= routes.MaxDestinations {
			io.Printf("\nRoutes may not contain more than %d destinations.\n", routes.MaxDestinations)
			io.Fail()
			return nil, nil
		}
		add, err := askDestinations(io, "Enter the additional destination hosts, separated by commas.", r.Destinations)
		if err != nil {
			return nil, err
		}
		ds = append(append(ds, r.Destinations...), add...)
	case "REPLACE":
		if ds, err = askDestinations(io, "Enter the destination hosts, separated by commas, which you want mail for "+r.Domain+" to be delivered.\n"+destinationHelp, nil); err != nil {
			return nil, err
		}
	case "REMOVE":
		if len(r.Destinations) == 1 {
			io.Printf("\nA route needs at least one destination: use DELETE to remove the route for %s.\n", r.Domain)
			io.Fail()
			return nil, nil
		}
		var gone int
		if _, err := io.Ask("Enter the destination you would like to remove.", "", func(a string) (string, error) {
			for j, d := range r.Destinations {
				if strings.EqualFold(a, d.String()) || strings.EqualFold(a, d.Host) {
					gone = j
					return a, nil
				}
			}
			return "", fmt.Errorf("The destination %q is not in the route for %s.", a, r.Domain)
		}); err != nil {
			return nil, err
		}
		ds = append(append(ds, r.Destinations[:gone]...), r.Destinations[gone+1:]...)
	}
	rs := append([]routes.Route(nil), t.Routes...)
	rs[i].Destinations = ds
	io.Printf("\nMapping for %s to %s updated.\n", r.Domain, destinationsText(ds))
	return &routes.Table{Routes: rs}, nil
}

func routeDelete(io *shell.IO, t routes.Table) (*routes.Table, error) {
	i, err := askRoute(io, t, "delete")
	if err != nil || i < 0 {
		return nil, err
	}
	d := t.Routes[i].Domain
	if d == routes.All {
		sure, err := io.YesNo("Are you sure you want to reset the default route?", false)
		if err != nil || !sure {
			return nil, err
		}
		io.Printf("\nThe default route has been reset: mail for other domains is delivered by DNS.\n")
	} else {
		io.Printf("\nThe route for %s has been deleted.\n", d)
	}
	rs := append(t.Routes[:i:i], t.Routes[i+1:]...)
	return &routes.Table{Routes: rs}, nil
}

// routeImport replaces the routes with those of a file, or refuses the
// file whole, naming the line at fault.
func routeImport(io *shell.IO, env *Env, t routes.Table) (*routes.Table, error) {
	name, data, err := importFile(io, env)
	if err != nil || data == nil {
		return nil, err
	}
	nt, err := routes.Parse(bytes.NewReader(data))
	if err != nil {
		var pe *routes.ParseError
		if errors.As(err, &pe) {
			io.Printf("\nLine %d: %v\n", pe.Line, sentence(errors.New(pe.Msg)))
		} else {
			io.Printf("\nError reading file.\n")
		}
		io.Printf("Import failed. Nothing was changed.\n")
		io.Fail()
		return nil, nil
	}
	io.Printf("\nImported %d routes from %s", len(nt.Routes), name)
	if n := len(t.Routes); n > 0 {
		io.Printf("; they replace the %d routes configured before", n)
	}
	io.Printf(".\n")
	return &nt, nil
}
