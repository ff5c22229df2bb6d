package infobloxcni.daemon;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The story of one adversarial run: every call, answer, operator action and injected fault, each
 * with the step it happened in and the addresses and attachments it concerns, so that a violation
 * can be told with the events that led to it. Also the run's clock: a sequence number that orders
 * events across threads (an ADD's start against an operator's change of the same address).
 */
final class EventLog {
    record Event(long seq, int step, String text, Set<String> subjects) {
        @Override
        public String toString() {
            return "step " + step + ": " + text;
        }
    }

    private final AtomicLong clock = new AtomicLong();
    private final List<Event> events = new ArrayList<>();
    private volatile int step;

    /** The next tick of the run's clock. */
    long now() {
        return clock.incrementAndGet();
    }

    void step(int step) {
        this.step = step;
    }

    int step() {
        return step;
    }

    /** Records an event about the given subjects (addresses, attachment labels, container IDs; nulls ignored). */
    void add(String text, String... subjects) {
        Set<String> s = new java.util.HashSet<>();
        for (String subject : subjects) if (subject != null) s.add(subject);
        synchronized (events) {
            events.add(new Event(now(), step, text, s));
        }
    }

    /** The last {@code max} events about any of the subjects, oldest first. */
    List<String> about(int max, String... subjects) {
        List<String> out = new ArrayList<>();
        synchronized (events) {
            for (int i = events.size() - 1; i >= 0 && out.size() < max; i--) {
                Event e = events.get(i);
                for (String s : subjects) {
                    if (s != null && e.subjects().contains(s)) {
                        out.add(e.toString());
                        break;
                    }
                }
            }
        }
        return out.reversed();
    }

    /** Every event, one line each, for the run's record. */
    List<String> all() {
        synchronized (events) {
            return events.stream().map(Event::toString).toList();
        }
    }

    /** The events of one step, for a failure message's context. */
    List<String> ofStep(int step, int max) {
        List<String> out = new ArrayList<>();
        synchronized (events) {
            for (Event e : events) if (e.step() == step && out.size() < max) out.add(e.text());
        }
        return out;
    }
}
