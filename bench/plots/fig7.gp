# Figure 7: what a push module costs ejabberd 23.01 (bench/ejabberd-push-cost.py).
#   gnuplot -e "datadir='DIR'; outdir='docs/performance'" bench/plots/fig7.gp
if (!exists("datadir")) datadir = "bench/results/plot-data"
if (!exists("outdir")) outdir = "docs/performance"
set terminal pngcairo size 800,500 noenhanced
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set key top left
set offsets 0.6, 0.6, 0, 0

set output outdir."/fig7-cpu.png"
set title "Figure 7: beam.smp CPU per offline message, ejabberd 23.01 (median, range over rounds)"
set ylabel "CPU µs per message (all threads)"
set yrange [0:*]
plot datadir."/fig7-cpu.dat" using 1:3:xtic(2) with boxes lc rgb "#4a7ab0" title "CPU per message (median)", \
     ""                       using 1:3:4:5 with yerrorbars lc rgb "black" pt 0 title "range over the rounds", \
     ""                       using ($1+0.2):3:(sprintf("%.0f", $3)) with labels offset 0,0.8 notitle

set output outdir."/fig7-memory.png"
set title "Figure 7: memory growth per push, ejabberd 23.01 (median, range over rounds)"
set ylabel "bytes per message"
set yrange [*:*]
set style data histogram
plot datadir."/fig7-memory.dat" using ($1-0.15):3:4:5:xtic(2) with yerrorbars pt 7 ps 1.5 lc rgb "#b04a4a" title "erlang:memory(total), after GC", \
     ""                          using ($1+0.15):6:7:8 with yerrorbars pt 5 ps 1.5 lc rgb "#4a7ab0" title "VmRSS"
