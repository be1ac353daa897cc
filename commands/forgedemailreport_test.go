package commands

import "testing"

func init() {
	transcripts["forgedemailreport"] = transcript{setup: func(t *testing.T, env *Env) {
		env.Forged = func() []ForgedCount {
			return []ForgedCount{
				{Dictionary: "Executives", Term: "Olivia Smith", Count: 12},
				{Dictionary: "Executives", Term: "Liam Jones", Count: 3},
				{Dictionary: "Board", Term: "Ana Lima", Count: 1},
			}
		}
	}}
	transcripts["forgedemailreport_empty"] = transcript{setup: func(t *testing.T, env *Env) {
		env.Forged = func() []ForgedCount { return nil }
	}}
	transcripts["forgedemailreport_offline"] = transcript{}
}
