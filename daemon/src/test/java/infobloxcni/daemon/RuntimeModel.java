package infobloxcni.daemon;

import infobloxcni.store.AttachmentKey;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a CNI runtime believes about its containers, and what it does after each answer: the
 * adversarial test's model of the runtime. One {@link Attachment} per (network, container,
 * interface). The runtime serializes calls per container (a pod's networks are set up one after
 * the other) and runs containers in parallel; after a failed ADD it either retries the ADD or
 * DELs; a DEL that does not succeed is owed until one does; a DEL can succeed while the rest of
 * the teardown fails, and then the runtime keeps the cache entry and DELs again later.
 */
final class RuntimeModel {
    /** The runtime's view of one attachment. */
    enum State {
        /** never ADDed (perhaps DELed already: an out-of-order DEL) */
        NEW,
        /** ADD succeeded and no DEL was sent since: the container uses its address */
        LIVE,
        /** the ADD failed or its answer was lost; the runtime will ADD again */
        ADD_RETRY,
        /** the runtime wants it gone and no DEL has fully succeeded yet */
        DEL_OWED,
        /** DEL succeeded, cache entry removed */
        GONE
    }

    /** One network the runtime attaches containers to; its netconf can change subnet under the same name. */
    static final class Network {
        final String name;
        final int poolSize;
        /** Its netconf names a range (.100 to .160 of whatever subnet it names) with .120 excluded. */
        final boolean ranged;

        private String subnet;
        private final List<String> former = new ArrayList<>();

        Network(String name, String subnet, int poolSize) {
            this(name, subnet, poolSize, false);
        }

        Network(String name, String subnet, int poolSize, boolean ranged) {
            this.name = name;
            this.subnet = subnet;
            this.poolSize = poolSize;
            this.ranged = ranged;
        }

        static final int RANGE_START = 100, RANGE_END = 160, EXCLUDED = 120;

        /** Whether its netconf, naming {@code cidr}, lets a container have {@code address}. */
        boolean allows(String cidr, String address) {
            String prefix = prefixOf(cidr);
            if (address == null || !address.startsWith(prefix)) return false;
            if (!ranged) return true;
            int host = Integer.parseInt(address.substring(prefix.length()));
            return host >= RANGE_START && host <= RANGE_END && host != EXCLUDED;
        }

        synchronized String subnet() {
            return subnet;
        }

        /** Every subnet this network's netconf has named, the current one first. */
        synchronized List<String> subnets() {
            List<String> out = new ArrayList<>(List.of(subnet));
            out.addAll(former);
            return out;
        }

        synchronized void changeSubnet(String newSubnet) {
            former.add(subnet);
            subnet = newSubnet;
        }

        /** The prefix every address of a /24 subnet starts with, e.g. "10.61.0.". */
        static String prefixOf(String cidr) {
            return cidr.substring(0, cidr.lastIndexOf('.') + 1);
        }

        private String range() {
            if (!ranged) return "";
            String prefix = prefixOf(subnet());
            return ",\"range-start\":\"" + prefix + RANGE_START + "\",\"range-end\":\"" + prefix + RANGE_END
                    + "\",\"exclude\":[\"" + prefix + EXCLUDED + "\"]";
        }

        /** The network's config as the runtime hands it to the plugin (cniVersion 1.1.0: CHECK, STATUS and GC). */
        String netconf(Path socketDir) {
            return "{\"cniVersion\":\"1.1.0\",\"name\":\"" + name
                    + "\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\","
                    + "\"subnet\":\"" + subnet() + "\",\"pool-size\":" + poolSize + range() + ",\"socket-dir\":\""
                    + socketDir
                    + "\",\"daemon-timeout\":40,\"daemon-connect-timeout\":0.5}}";
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** One (network, container, interface) as the runtime sees it. Fields guarded by the model's lock. */
    static final class Attachment {
        final String id;
        final Network network;
        final String ifName = "eth0";
        State state = State.NEW;
        /** what ADD answered, without the prefix length */
        String address;
        /** the subnet the netconf named when ADD answered */
        String cidr;
        /** the ADD's result JSON, for prevResult and the cache entry */
        String result;
        /** answered while the grid was in an injected outage: checked once the daemon has settled */
        boolean exempt;
        /** its address was seen held for it on the grid (at once, or after settling for an exempt answer) */
        boolean confirmed;
        /** reserved by the original driver before this one ran */
        boolean migrated;
        /** its DEL succeeded but the teardown failed: the cache entry stayed and the runtime DELs again */
        boolean staleCache;
        /** the event sequence number when its last ADD was sent */
        long addStartedSeq;
        /**
         * when (the run's clock) its address was seen to be someone else's or no one's though the
         * runtime uses it (answered so, or taken by an operator during an outage): 0 while it was not
         */
        long takenSeq;

        int addAttempts;

        Attachment(String id, Network network) {
            this.id = id;
            this.network = network;
        }

        AttachmentKey key() {
            return new AttachmentKey(network.name, id, ifName);
        }

        String label() {
            return network.name + "/" + id + "/" + ifName;
        }

        @Override
        public String toString() {
            return label();
        }
    }

    private final List<Attachment> attachments = new ArrayList<>();
    private final Set<String> busy = new HashSet<>();
    private int counter;

    synchronized String newId(String prefix) {
        return prefix + (++counter);
    }

    /** A container the runtime is about to create, on one network. */
    synchronized Attachment newContainer(Network network) {
        return attach(newId("c"), network);
    }

    /** Another attachment of a container id (a second network of the same container). */
    synchronized Attachment attach(String id, Network network) {
        Attachment a = new Attachment(id, network);
        attachments.add(a);
        return a;
    }

    /** A container the original driver set up: the runtime has it live, the grid holds the old driver's reservation. */
    synchronized Attachment migrated(String id, Network network, String address, String result) {
        Attachment a = attach(id, network);
        a.state = State.LIVE;
        a.migrated = true;
        a.confirmed = true;
        a.address = address;
        a.cidr = network.subnet();
        a.result = result;
        return a;
    }

    synchronized List<Attachment> all() {
        return List.copyOf(attachments);
    }

    synchronized List<Attachment> in(State state) {
        return attachments.stream().filter(a -> a.state == state).toList();
    }

    synchronized List<Attachment> live() {
        return in(State.LIVE);
    }

    synchronized List<Attachment> of(String containerId) {
        return attachments.stream().filter(a -> a.id.equals(containerId)).toList();
    }

    /** Marks the attachment's container busy (one call per container at a time); false when it already is. */
    synchronized boolean claim(Attachment a) {
        return busy.add(a.id);
    }

    synchronized void unclaim(Attachment a) {
        busy.remove(a.id);
    }

    synchronized boolean busy(Attachment a) {
        return busy.contains(a.id);
    }

    /** The ADD is on its way. */
    synchronized void addSent(Attachment a, long seq) {
        a.addStartedSeq = seq;
        a.addAttempts++;
    }

    /**
     * What the runtime does with an ADD's answer. Success: the container runs with the address.
     * A failure says "try again" (11) or the answer was lost: the runtime either ADDs again
     * later (same container ID) or gives up and DELs; any other failure: it DELs.
     */
    synchronized void addAnswered(
            Attachment a, CniCalls.Result r, String cidr, boolean exempt, boolean retryOnTryAgain) {
        if (r.ok()) {
            a.state = State.LIVE;
            a.address = r.address();
            a.cidr = cidr;
            a.result = r.stdout();
            a.exempt = exempt;
            a.confirmed = !exempt;
            a.takenSeq = 0;
            return;
        }
        boolean tryAgain = r.lost() || r.code() == infobloxcni.wire.CniError.TRY_AGAIN_LATER;
        a.state = tryAgain && retryOnTryAgain && a.addAttempts < 3 ? State.ADD_RETRY : State.DEL_OWED;
    }

    /** The runtime is tearing it down: from now on the container no longer uses its address. */
    synchronized void delSent(Attachment a) {
        if (a.state == State.LIVE || a.state == State.ADD_RETRY) a.state = State.DEL_OWED;
    }

    /** A DEL's answer: done (cache entry removed), or owed again (a failure, or the teardown after it failed). */
    synchronized void delAnswered(Attachment a, boolean ok, boolean teardownFails) {
        if (a.state != State.DEL_OWED) return; // an out-of-order or repeated DEL changes nothing
        if (ok && !teardownFails) {
            a.state = State.GONE;
            a.staleCache = false;
        } else if (ok) {
            a.staleCache = true;
        }
    }
}
