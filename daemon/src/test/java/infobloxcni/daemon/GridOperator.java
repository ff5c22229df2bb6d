package infobloxcni.daemon;

import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.wapisim.WapiSimulator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Everyone on the grid who is not this daemon: an operator who deletes reservations and reserves
 * addresses for printers, another host of this driver, another cloud platform, the original
 * driver. It remembers what it touched (which address, from when to when on the run's clock) and
 * every foreign object it made, with the object as it was made, so that invariant 3 can tell
 * whether anything not ours was changed.
 */
final class GridOperator {
    /** An operator action on an address; {@code ended} is 0 while it is under way. */
    static final class Touch {
        final String address;
        final long began;
        volatile long ended;
        final String what;

        Touch(String address, long began, String what) {
            this.address = address;
            this.began = began;
            this.what = what;
        }
    }

    /** A reservation that is not ours, as it was made. */
    record Foreign(
            String ref, String kind, String address, Map<String, Object> made, String containerId, String network) {
        String describe() {
            return kind + " at " + address + " (VM ID " + containerId + ", ref " + ref + ")";
        }
    }

    static final String OTHER_HOST = "other-host";
    static final String ORIGINAL_DRIVERS = "the original driver's reservation";

    private final WapiSimulator grid;
    private final GridObjects objects;
    private final EventLog events;
    private final List<Touch> touches = new CopyOnWriteArrayList<>();
    private final Set<String> open = ConcurrentHashMap.newKeySet();
    private final List<Foreign> foreign = new CopyOnWriteArrayList<>();
    private int printers;

    GridOperator(WapiSimulator grid, GridObjects objects, EventLog events) {
        this.grid = grid;
        this.objects = objects;
        this.events = events;
    }

    // ----------------------------------------------------------------- an operator

    /** Deletes whatever holds the address (a pool entry, a container's reservation). */
    boolean delete(String address, String why) {
        Map<String, Object> holder = objects.at(address);
        if (holder == null) return false;
        Touch t = begin(address, "operator deletes " + GridObjects.describe(holder) + " (" + why + ")");
        try {
            grid.deleteObject(String.valueOf(holder.get("_ref")));
            forget(String.valueOf(holder.get("_ref")));
            return true;
        } catch (RuntimeException gone) {
            return false;
        } finally {
            end(t);
        }
    }

    /** Reserves the address for a printer (VM ID printer-N, no comment), deleting what held it first. */
    Foreign reassignToPrinter(String address, String why) {
        Map<String, Object> holder = objects.at(address);
        int n;
        synchronized (this) {
            n = ++printers;
        }
        String name = "printer-" + n;
        Touch t = begin(
                address,
                "operator reserves " + address + " for " + name + " (" + why + "), replacing "
                        + GridObjects.describe(holder));
        try {
            if (holder != null) {
                grid.deleteObject(String.valueOf(holder.get("_ref")));
                forget(String.valueOf(holder.get("_ref")));
            }
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("ipv4addr", address);
            fields.put("network_view", GridObjects.VIEW);
            fields.put("mac", String.format("aa:bb:cc:00:%02x:%02x", (n >> 8) & 0xff, n & 0xff));
            fields.put("name", name);
            fields.put("extattrs", Map.of(ReservationTags.VM_ID, Map.of("value", name)));
            return made("printer", fields, name, null);
        } catch (RuntimeException refused) {
            return null;
        } finally {
            end(t);
        }
    }

    // ----------------------------------------------------------------- other owners

    /** Another host of this driver reserved an address for a container with this ID. */
    Foreign otherHostsReservation(String network, String address, String containerId) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("ipv4addr", address);
        fields.put("network_view", GridObjects.VIEW);
        fields.put("mac", "00:00:00:00:00:00");
        fields.put("comment", "infoblox-cni host=" + OTHER_HOST + " net=" + network + " if=eth0");
        fields.put(
                "extattrs",
                Map.of(
                        "VM ID", Map.of("value", containerId),
                        "Tenant ID", Map.of("value", "cluster-1"),
                        "CMP Type", Map.of("value", "Kubernetes"),
                        "Cloud API Owned", Map.of("value", "True")));
        return placed("another host's reservation", fields, containerId, network);
    }

    /** Another cloud platform's machine with the same VM ID. */
    Foreign otherPlatformsReservation(String network, String address, String containerId) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("ipv4addr", address);
        fields.put("network_view", GridObjects.VIEW);
        fields.put("mac", "fa:16:3e:00:00:01");
        fields.put(
                "extattrs",
                Map.of(
                        "VM ID", Map.of("value", containerId),
                        "CMP Type", Map.of("value", "OpenStack"),
                        "Tenant ID", Map.of("value", "tenant-x"),
                        "Cloud API Owned", Map.of("value", "True")));
        return placed("another platform's reservation", fields, containerId, network);
    }

    /** The original Go driver's reservation of a container (no comment, its EAs). */
    Foreign originalDriversReservation(String network, String address, String containerId) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("ipv4addr", address);
        fields.put("network_view", GridObjects.VIEW);
        fields.put("mac", "02:42:0a:00:00:33");
        fields.put("extattrs", TestHost.originalDriversEas(containerId));
        return placed(ORIGINAL_DRIVERS, fields, containerId, network);
    }

    private Foreign placed(String kind, Map<String, Object> fields, String containerId, String network) {
        try {
            Foreign f = made(kind, fields, containerId, network);
            events.add("made " + f.describe() + " on " + network, f.address(), containerId);
            return f;
        } catch (RuntimeException taken) {
            return null; // the address was taken meanwhile
        }
    }

    private Foreign made(String kind, Map<String, Object> fields, String containerId, String network) {
        String ref = grid.createObject("fixedaddress", fields);
        Foreign f =
                new Foreign(ref, kind, String.valueOf(fields.get("ipv4addr")), grid.object(ref), containerId, network);
        foreign.add(f);
        return f;
    }

    // ----------------------------------------------------------------- what was touched

    private Touch begin(String address, String what) {
        Touch t = new Touch(address, events.now(), what);
        touches.add(t);
        open.add(address);
        events.add(what, address);
        return t;
    }

    private void end(Touch t) {
        t.ended = events.now();
    }

    /** An operator action on the address that was under way at, or came after, the moment {@code seq}. */
    Touch touchedSince(String address, long seq) {
        for (Touch t : touches) {
            if (t.address.equals(address) && (t.ended == 0 || t.ended > seq)) return t;
        }
        return null;
    }

    /** Addresses operator actions touched whose consequences the daemon may still report. */
    Set<String> openTouches() {
        return Set.copyOf(open);
    }

    /** The daemon has been seen with nothing to report about the address any more. */
    void closeTouch(String address) {
        open.remove(address);
    }

    // ----------------------------------------------------------------- foreign objects

    List<Foreign> foreign() {
        return List.copyOf(foreign);
    }

    /** The foreign object may go now (the runtime itself asked for its release): no longer watched. */
    void mayGo(Foreign f) {
        foreign.remove(f);
    }

    /** Foreign objects of a container (the original driver's of a migrated container, say). */
    List<Foreign> foreignOf(String containerId) {
        List<Foreign> out = new ArrayList<>();
        for (Foreign f : foreign) if (containerId.equals(f.containerId())) out.add(f);
        return out;
    }

    /** An object the operator deleted himself is no longer watched. */
    private void forget(String ref) {
        foreign.removeIf(f -> f.ref().equals(ref));
    }
}
