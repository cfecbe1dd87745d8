# Figure 5 (bench-sessions): tick cost and bytes per session against the
# number of sessions.  Run by bench/run-all:
#   gnuplot -e "datadir='DIR'; outdir='DIR'" bench/plots/fig5.gp
if (!exists("datadir")) datadir = 'bench/results/plot-data'
if (!exists("outdir")) outdir = 'docs/performance'
set terminal pngcairo size 800,500 noenhanced
set logscale x
set xlabel "sessions (half hibernated with a coalesced push pending, half live with an ack timer)"
set grid
set key top left
set yrange [0:*]

set output outdir.'/fig5-tick.png'
set ylabel "ns per idle tick / us per publish"
set title "Figure 5: cloudnotify_tick cost vs sessions"
plot datadir.'/fig5-tick.dat' using 1:2 with linespoints title "tick, nothing due (ns)", \
     '' using 1:4 with linespoints title "tick with a batch due, per publish (us)"

set output outdir.'/fig5-memory.png'
set ylabel "bytes"
set title "Figure 5: heap per session"
plot datadir.'/fig5-memory.dat' using 1:2 with linespoints title "per session (with its pinned cached account)", \
     '' using 1:3 with linespoints title "per registration (memory store + cache)"
