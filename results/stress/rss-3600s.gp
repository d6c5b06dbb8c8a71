set terminal pngcairo size 1000,500
set output 'results/stress/rss-3600s.png'
set title 'notifier-stress resident memory (sampled every 10 s)'
set xlabel 'minutes'
set ylabel 'RSS (MiB)'
set yrange [0:*]
set key bottom right
set grid
plot 'results/stress/rss-3600s.dat' index 0 with lines lw 2 title "rcu-qsbr + hmm, 3600 s, clean: 1 min 28.1 MiB, peak 29.6 MiB (1.05x)", \
     'results/stress/rss-3600s.dat' index 1 with lines lw 2 title "rcu + seq, 3600 s, VIOLATIONS: 1 min 28.0 MiB, peak 28.3 MiB (1.01x)"