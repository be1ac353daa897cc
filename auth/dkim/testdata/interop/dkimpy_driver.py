# Driver for the interop tests: dkimpy signs or verifies the messages it is
# given, with keys served from a JSON file instead of DNS (dkimpy's dnsfunc
# hook), so nothing leaves the machine.
#
#   dkimpy_driver.py verify records.json msg...   -> "<file> pass|fail" per message
#   dkimpy_driver.py sign spec...                 -> writes <out> per spec
#     spec = in|out|keyfile|selector|domain|header-canon|body-canon|algorithm|length(0/1)
import json
import os
import sys

import dkim


def main():
    mode = sys.argv[1]
    if mode == "verify":
        with open(sys.argv[2]) as f:
            records = json.load(f)

        def dnsfunc(name, timeout=5):
            if isinstance(name, bytes):
                name = name.decode()
            value = records.get(name.rstrip(".").lower())
            return value.encode() if value is not None else None

        for path in sys.argv[3:]:
            with open(path, "rb") as f:
                msg = f.read()
            ok = dkim.DKIM(msg).verify(idx=0, dnsfunc=dnsfunc)
            print(os.path.basename(path), "pass" if ok else "fail")
    elif mode == "sign":
        for spec in sys.argv[2:]:
            src, out, keyfile, sel, dom, hc, bc, alg, length = spec.split("|")
            with open(src, "rb") as f:
                msg = f.read()
            with open(keyfile, "rb") as f:
                key = f.read()
            sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
                            canonicalize=(hc.encode(), bc.encode()),
                            signature_algorithm=alg.encode(),
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                            length=length == "1")
            with open(out, "wb") as f:
                f.write(sig + msg)
    else:
        sys.exit("unknown mode " + mode)


main()
