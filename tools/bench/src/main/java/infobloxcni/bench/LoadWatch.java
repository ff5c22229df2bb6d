package infobloxcni.bench;

/**
 * Samples the 1-minute load average every 5 s for the length of the run, so that the results
 * say how busy the machine was while they were taken (on a shared machine, that is most of the story).
 */
final class LoadWatch {
    private double min = Double.MAX_VALUE, max;

    static LoadWatch start() {
        LoadWatch w = new LoadWatch();
        w.sample();
        Thread.ofPlatform().daemon().name("load-watch").start(() -> {
            while (true) {
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    return;
                }
                w.sample();
            }
        });
        return w;
    }

    private synchronized void sample() {
        double load = Double.parseDouble(Procs.loadAverage().split(" ")[0]);
        min = Math.min(min, load);
        max = Math.max(max, load);
    }

    synchronized String range() {
        return min == max ? Double.toString(min) : min + " to " + max;
    }
}
