set terminal pngcairo size 1200,760 font 'sans,10'
set output 'bench/results/2026-11-26-compare-s10-full/timeline.png'
set multiplot layout 2,1
set xlabel 'seconds'; set ylabel 'requests/s (100 ms bins)'; set y2label 'p99 ms (100 ms bins, log)'
set yrange [0:*]; set y2range [1:2000]; set logscale y2; set y2tics; set ytics nomirror; set key outside top center horizontal; set grid
set title 'samples/Hello, JIT, Baton: timeline-client, 16 keep-alive connections on /slow?ms=5, SIGHUP every 2 s (dashed)'
unset arrow
set arrow from 1.964, graph 0 to 1.964, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 3.964, graph 0 to 3.964, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 5.961, graph 0 to 5.961, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 7.960, graph 0 to 7.960, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 9.962, graph 0 to 9.962, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 11.959, graph 0 to 11.959, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 13.959, graph 0 to 13.959, graph 1 nohead dt 2 lc rgb 'gray40'
plot 'bench/results/2026-11-26-compare-s10-full/timeline-jit.dat' using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'requests/s', \
  '' using 1:3 axes x1y2 with lines lc rgb '#ff7f0e' title 'p99 ms', \
  'bench/results/2026-11-26-compare-s10-full/timeline-jit-errors.dat' using 1:(0) with points pt 7 ps 1.2 lc rgb 'red' title 'failed requests: 0'
set title 'samples/Hello, NativeAOT, Baton: timeline-client, 16 keep-alive connections on /slow?ms=5, SIGHUP every 2 s (dashed)'
unset arrow
set arrow from 1.927, graph 0 to 1.927, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 3.928, graph 0 to 3.928, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 5.928, graph 0 to 5.928, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 7.926, graph 0 to 7.926, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 9.925, graph 0 to 9.925, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 11.925, graph 0 to 11.925, graph 1 nohead dt 2 lc rgb 'gray40'
set arrow from 13.927, graph 0 to 13.927, graph 1 nohead dt 2 lc rgb 'gray40'
plot 'bench/results/2026-11-26-compare-s10-full/timeline-aot.dat' using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title 'requests/s', \
  '' using 1:3 axes x1y2 with lines lc rgb '#ff7f0e' title 'p99 ms', \
  'bench/results/2026-11-26-compare-s10-full/timeline-aot-errors.dat' using 1:(0) with points pt 7 ps 1.2 lc rgb 'red' title 'failed requests: 0'
unset multiplot
