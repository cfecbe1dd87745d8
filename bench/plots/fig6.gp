# Figure 6 of issue 12: a push module's cost inside Prosody 0.12 and 13
# (bench/prosody-push-cost.py --issue12). Run by bench/run-all as
#   gnuplot -e "datadir='DIR'; outdir='DIR'" bench/plots/fig6.gp
# Data: fig6-cpu.dat and fig6-memory.dat (x version config median min max ...),
# fig6-instructions.dat with --callgrind. A missing file is skipped.
if (!exists("datadir")) datadir = "bench/results/plot-data"
if (!exists("outdir")) outdir = "docs/performance"
have(f) = system("test -f '".f."' && echo 1 || echo 0") + 0

set terminal pngcairo size 800,500 noenhanced
set style fill solid 0.6 border -1
set boxwidth 0.8
set grid ytics
set xtics rotate by -30 nomirror
set key off
set yrange [0:*]; set offsets 0,0,graph 0.1,0
lbl(v, c) = sprintf("%s %s", v, c)

f = datadir."/fig6-cpu.dat"
if (have(f)) {
  set output outdir."/fig6-cpu.png"
  set title "Figure 6: Prosody CPU per offline message (median; bars: min..max of rounds)"
  set ylabel "CPU microseconds per message"
  plot f using 1:4:xtic(sprintf("%s %s", strcol(2), strcol(3))) with boxes lc rgb "#4a7ab5", \
       f using 1:4:5:6 with yerrorbars lc rgb "black" pt 0
}

f = datadir."/fig6-memory.dat"
if (have(f)) {
  set output outdir."/fig6-memory.png"
  set title "Figure 6: VmRSS growth per push (median; bars: min..max of rounds)"
  set ylabel "bytes per push"
  set yrange [*:*]
  set key top left
  set boxwidth 0.4
  plot f using ($1-0.2):4:xtic(sprintf("%s %s", strcol(2), strcol(3))) with boxes lc rgb "#b5804a" title "whole phase", \
       f using ($1+0.2):8 with boxes lc rgb "#6a4a9a" title "second half of the phase", \
       f using ($1-0.2):4:5:6 with yerrorbars lc rgb "black" pt 0 notitle, \
       f using ($1+0.2):8:9:10 with yerrorbars lc rgb "black" pt 0 notitle
  set boxwidth 0.8
  set key off
}

f = datadir."/fig6-instructions.dat"
if (have(f)) {
  set output outdir."/fig6-instructions.png"
  set title "Figure 6: instructions per offline message (callgrind)"
  set ylabel "instructions per message"
  set yrange [0:*]
  plot f using 1:4:xtic(sprintf("%s %s", strcol(2), strcol(3))) with boxes lc rgb "#5a9a5a"
}
