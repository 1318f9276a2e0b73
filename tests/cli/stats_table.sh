# stats' table right-aligns its numeric columns (generation, rows, bytes: each cell ends under its
# header's last letter) and left-aligns the words (each cell starts under its header's first letter).
set -u
"$BARSTORE" ingest --db db --symbol SPY --stamp end --session us-equity "$SHARED/data/csv/nt-spy-minute-2011.csv" >/dev/null
"$BARSTORE" replay --db db --symbols SPY --timeframes 1m,15m,1h,1d --bars 200 --from 2011-01-05 --to 2011-01-07 --step 13m --budget 40KiB >/dev/null
"$BARSTORE" stats --db db | tail -n +2 > table.txt
echo "$(($(wc -l <table.txt) - 1)) entries"
awk 'NR == 1 { for (i = 1; i <= NF; i++) { start[$i] = index($0, $i); end[$i] = start[$i] + length($i) - 1 }; next }
     { for (h in start) {
         s = start[h]; e = end[h]
         if (h == "generation" || h == "rows" || h == "bytes") {
           if (substr($0, e, 1) == " " || substr($0, e + 1, 1) ~ /[^ ]/) print "line " NR ": " h " not right-aligned"
         } else if (substr($0, s, 1) == " " || (s > 1 && substr($0, s - 1, 1) != " ")) print "line " NR ": " h " not left-aligned"
       } }' table.txt
echo "lines ending in a blank: $(grep -c ' $' table.txt)"
