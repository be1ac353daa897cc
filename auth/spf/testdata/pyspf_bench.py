#!/usr/bin/python3
"""Run the OpenSPF YAML suites against pyspf with an in-memory DNS and report
the evaluation rate, for comparison with BenchmarkSuite (see bench_test.go).

usage: pyspf_bench.py ROUNDS FILE.yml...

The DNS emulation is the one of pyspf's own test harness (testspf.py):
zonedata items are served in order, a bare TIMEOUT raises a temporary error
unless a record of the queried type came first, a TXT/SPF value "NONE" is a
placeholder, SPF items are served as TXT (after the others) unless the name
has TXT items, and names absent from the zone answer nothing.

Output, one line: checks=N seconds=S rate=R cpurate=C mismatches=M
(rate per wall-clock second, cpurate per second of this process's CPU time:
the latter is what to compare on a machine shared with other work).
(mismatches: cases whose result pyspf gets differently from the suite, so a
broken driver cannot pass for a fast one).
"""
import socket
import sys
import time

import spf
import yaml

zonedata = {}


def getrdata(r):
    txt = []
    gen = True
    for m in r:
        if not isinstance(m, dict):
            yield m
            continue
        for t, v in m.items():
            if t == 'TXT':
                gen = False
            elif t == 'SPF' and gen:
                txt.append(('TXT', v))
            if v != 'NONE':
                if t in ('TXT', 'SPF') and isinstance(v, str):
                    yield (t, (v,))
                elif t in ('TXT', 'SPF'):
                    yield (t, tuple(str(x) for x in v))
                else:
                    yield (t, v)
    if gen:
        for t, v in txt:
            if v == 'NONE':
                continue
            yield (t, (v,) if isinstance(v, str) else tuple(str(x) for x in v))


def DNSLookup(name, qtype, strict=True, timeout=None):
    try:
        timeout = True
        for i in zonedata[name.lower()]:
            if i == 'TIMEOUT':
                if timeout:
                    raise spf.TempError('DNS timeout')
                return
            t, v = i
            if t == qtype:
                timeout = False
            if t == 'AAAA':
                v = bytes(socket.inet_pton(socket.AF_INET6, v))
            yield ((name, t), v)
    except KeyError:
        return


spf.DNSLookup = DNSLookup


def load(files):
    cases = []
    for f in files:
        with open(f) as fh:
            for doc in yaml.safe_load_all(fh):
                zone = {}
                for name, items in (doc.get('zonedata') or {}).items():
                    zone[name.lower().rstrip('.')] = list(getrdata(items))
                for tname, t in doc['tests'].items():
                    res = t['result']
                    if isinstance(res, str):
                        res = [res]
                    cases.append((zone, t['host'], t.get('mailfrom', ''), t['helo'], res))
    return cases


def main():
    rounds = int(sys.argv[1])
    cases = load(sys.argv[2:])
    global zonedata
    mismatches = 0
    checks = 0
    start = time.perf_counter()
    cpu0 = time.process_time()
    for r in range(rounds):
        for zone, ip, mailfrom, helo, want in cases:
            zonedata = zone
            # An empty mailfrom is the HELO check: pyspf itself then uses
            # postmaster@helo, as the suite README says.
            q = spf.query(i=ip, s=mailfrom, h=helo, strict=True)
            q.set_default_explanation('DEFAULT')
            res, _, _ = q.check()
            checks += 1
            if r == 0 and res not in want:
                mismatches += 1
    secs = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    print('checks=%d seconds=%.6f rate=%.1f cpurate=%.1f mismatches=%d'
          % (checks, secs, checks / secs, checks / cpu, mismatches))


if __name__ == '__main__':
    main()
