# Figure 4 (bench-scale): per-operation cost and bytes per registration
# against the number of registrations.  Run by bench/run-all:
#   gnuplot -e "datadir='DIR'; outdir='DIR'" bench/plots/fig4.gp
if (!exists("datadir")) datadir = 'bench/results/plot-data'
if (!exists("outdir")) outdir = 'docs/performance'
set terminal pngcairo size 800,500
set logscale x
set xlabel "registrations (0.3 as many accounts)"
set grid
set key top left

set output outdir.'/fig4-cost.png'
set logscale y
set ylabel "ns per operation (log)"
set title "Figure 4: cost per operation vs registrations"
plot datadir.'/fig4-cost.dat' using 1:5 with linespoints title "memory, has\\_push, all cached", \
     '' using 1:6 with linespoints title "memory, registrations, all cached", \
     '' using 1:3 with linespoints title "memory, has\\_push, cache 10 000 accounts", \
     '' using 1:4 with linespoints title "memory, registrations, cache 10 000", \
     '' using 1:2 with linespoints title "memory, enable (IQ + save)", \
     '' using 1:7 with linespoints title "sqlite, has\\_push, cache 10 000", \
     '' using 1:8 with linespoints title "sqlite, registrations, cache 10 000", \
     '' using 1:9 with linespoints title "sqlite, enable (fsync)"

set output outdir.'/fig4-memory.png'
unset logscale y
set yrange [0:*]
set ylabel "bytes per registration"
set title "Figure 4: memory store, bytes per registration (target 400)"
plot datadir.'/fig4-memory.dat' using 1:2 with linespoints title "heap, store + cache of 10 000 accounts", \
     '' using 1:3 with linespoints title "VmRSS growth", \
     '' using 1:4 with linespoints title "heap, every account cached", \
     400 with lines dashtype 2 title "target"
