package infobloxcni.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Wall times of one kind of call, in milliseconds. Percentiles are nearest-rank (the value below
 * which p % of the samples lie), so with 100 samples p99 is the second slowest, with fewer the slowest.
 */
public record Summary(int n, double p50, double p90, double p99, double mean) {

    public static Summary ofNanos(Collection<Long> nanos) {
        long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        if (sorted.length == 0) return new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        return new Summary(
                sorted.length,
                pct(sorted, 50),
                pct(sorted, 90),
                pct(sorted, 99),
                round(Arrays.stream(sorted).average().orElse(Double.NaN) / 1e6, 3));
    }

    private static double pct(long[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return round(sorted[Math.max(0, rank - 1)] / 1e6, 3);
    }

    /** Rounded to {@code digits} decimals: the JSON stays readable, and no figure here is that exact anyway. */
    static double round(double v, int digits) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return v;
        double scale = Math.pow(10, digits);
        return Math.round(v * scale) / scale;
    }
}
