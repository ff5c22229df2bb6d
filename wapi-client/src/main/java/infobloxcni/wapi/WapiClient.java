package infobloxcni.wapi;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import okhttp3.HttpUrl;

/**
 * A typed client for the few WAPI calls an IPAM driver needs. One instance per grid, shared by
 * all threads: it holds the warm connection pool and the {@code ibapauth} session.
 *
 * <p>Retries are deliberately narrow: up to three attempts in all, with backoff and jitter, inside
 * the caller's deadline and not while the grid is known down; only after a broken connection or a
 * 5xx (never after a timeout), and only when repeating cannot change the grid twice: reads, and
 * POSTs that certainly never left this host. A write that may have arrived (a reset, a timeout,
 * any 5xx after it was sent) surfaces as
 * {@link WapiException.Transient} with {@code mayHaveBeenApplied} set, and the caller (who knows
 * what it was trying to do) looks before it writes again. Fixed addresses are changed or deleted
 * only through {@link #deleteFixedAddressIf} and {@link #updateFixedAddressIf}, which prove that
 * the object is still the claimant's first ({@link ConditionalWrites}): there is no write by a
 * remembered ref.
 *
 * <p>This class is the facade and does no work of its own: calls go through
 * {@link WapiTransport} (okhttp, session, retry, health), each object family has its class
 * ({@link NetworkViews}, {@link Networks}, {@link FixedAddresses}, {@link EaDefinitions}), and
 * {@link WapiJson} is the one mapping between objects and their JSON.
 */
public final class WapiClient implements AutoCloseable {
    private final WapiConfig config;
    private final CallObservers observers;
    private final WapiTransport transport;
    private final NetworkViews views;
    private final Networks networks;
    private final FixedAddresses fixedAddresses;
    private final ConditionalWrites conditional;
    private final EaDefinitions eaDefinitions;
    private final Ranges ranges;

    public WapiClient(WapiConfig config) {
        this(config, GridHealth.Settings.forTimeouts(config.readTimeout(), config.callTimeout()));
    }

    public WapiClient(WapiConfig config, GridHealth.Settings healthSettings) {
        this.config = config;
        WapiUrls urls = new WapiUrls(HttpUrl.get(config.baseUrl()));
        this.observers = new CallObservers(urls);
        this.transport = new WapiTransport(config, healthSettings, urls, observers);
        WapiObjects objects = new WapiObjects(transport, urls);
        this.views = new NetworkViews(objects);
        this.fixedAddresses = new FixedAddresses(objects);
        this.networks = new Networks(objects, fixedAddresses);
        this.conditional = new ConditionalWrites(
                fixedAddresses, objects, new RequestObject(transport, urls, config.wapiVersion()));
        this.eaDefinitions = new EaDefinitions(objects);
        this.ranges = new Ranges(objects);
    }

    /** Log in with other credentials from the next call on: a reload's new user name or password. */
    public void credentials(String username, String password) {
        transport.credentials(username, password);
    }

    /** The grid's health as this client sees it. */
    public GridHealth health() {
        return transport.health();
    }

    /** Tells {@code observer} of every call from now on, on the calling thread. */
    public void observeCalls(WapiCall.Observer observer) {
        observers.add(observer);
    }

    /** Starts the probe and the watch for hung calls (the daemon does; one-shot tools need not). */
    public void startHealthMonitoring() {
        transport.startHealthMonitoring();
    }

    public WapiConfig config() {
        return config;
    }

    // ---------------------------------------------------------------- network views

    public Optional<NetworkView> getNetworkView(String name) {
        return views.get(name);
    }

    public NetworkView createNetworkView(String name, Map<String, String> extattrs) {
        return views.create(name, extattrs);
    }

    // ---------------------------------------------------------------- networks

    public Optional<Network> getNetwork(String view, String cidr) {
        return networks.get(view, cidr);
    }

    public List<Network> findNetworksByEa(String view, String eaName, String value) {
        return networks.findByEa(view, eaName, value);
    }

    public Network createNetwork(String view, String cidr, Map<String, String> extattrs) {
        return networks.create(view, cidr, extattrs);
    }

    /** Carves the lowest free {@code /prefixLength} out of a network container, in one call. */
    public Network createNextAvailableNetwork(
            String view, String containerCidr, int prefixLength, Map<String, String> extattrs) {
        return networks.createNextAvailable(view, containerCidr, prefixLength, extattrs);
    }

    public Optional<Network> getNetworkContainer(String view, String cidr) {
        return networks.getContainer(view, cidr);
    }

    public Network createNetworkContainer(String view, String cidr, Map<String, String> extattrs) {
        return networks.createContainer(view, cidr, extattrs);
    }

    // ---------------------------------------------------------------- ranges

    /** The range of the view with exactly these bounds, if the grid holds one. */
    public Optional<AddressRange> findRange(String view, String start, String end) {
        return ranges.find(view, start, end);
    }

    /** Creates a reserved range (no DHCP server) in the network {@code cidr}. */
    public AddressRange createReservedRange(
            String view, String cidr, String start, String end, String comment, Map<String, String> extattrs) {
        return ranges.createReserved(view, cidr, start, end, comment, extattrs);
    }

    // ---------------------------------------------------------------- fixed addresses

    /**
     * Reserves the lowest free address of {@code cidr} in one round trip: the reply carries the
     * new object, address included. A lost reply means the reservation may exist: search it by
     * its EAs before asking again.
     */
    public FixedAddress reserveNextAvailableIp(String view, String cidr, FixedAddressSpec spec) {
        return reserveNextAvailableIp(view, AddressSource.network(cidr), spec);
    }

    /** As {@link #reserveNextAvailableIp(String, String, FixedAddressSpec)}, from a range and minus excluded addresses. */
    public FixedAddress reserveNextAvailableIp(String view, AddressSource from, FixedAddressSpec spec) {
        return fixedAddresses.reserveNextAvailable(view, from, spec);
    }

    /** Reserves one given address (e.g. a gateway, with {@code match_client} RESERVED). */
    public FixedAddress reserveAddress(String view, String ipv4addr, FixedAddressSpec spec) {
        return fixedAddresses.reserve(view, ipv4addr, spec);
    }

    /**
     * Searches fixed addresses. {@code fields} are exact-match search fields ({@code ipv4addr},
     * {@code mac}, {@code network}, or {@code comment~} for a regular expression); {@code eas}
     * match extensible attributes. A null view searches every view.
     */
    public List<FixedAddress> findFixedAddresses(String view, Map<String, String> fields, Map<String, String> eas) {
        return fixedAddresses.find(view, fields, eas);
    }

    public List<FixedAddress> findFixedAddressesByEa(String view, String eaName, String value) {
        return fixedAddresses.findByEa(view, eaName, value);
    }

    public Optional<FixedAddress> findFixedAddressByIp(String view, String ipv4addr) {
        return fixedAddresses.findByIp(view, ipv4addr);
    }

    /**
     * Reads the object a ref names <em>now</em>. A ref names a key (IP and view), so a ref kept
     * from earlier may name another holder's reservation today: check what comes back.
     */
    public Optional<FixedAddress> getFixedAddress(String ref) {
        return fixedAddresses.get(ref);
    }

    /**
     * Deletes the fixed address at {@code ipv4addr} in {@code view}, only if what the grid holds
     * there now matches one of {@code claims}; otherwise touches nothing and says what it found.
     * See {@link ConditionalWrites} for how the check and the write are kept to one step.
     */
    public VerifiedWrite deleteFixedAddressIf(String view, String ipv4addr, List<ReservationClaim> claims) {
        return deleteFixedAddressIf(view, ipv4addr, claims, null);
    }

    /**
     * As {@link #deleteFixedAddressIf(String, String, List)}, where {@code seen} is what a search
     * returned for that address a moment ago: it stands in for the first look.
     */
    public VerifiedWrite deleteFixedAddressIf(
            String view, String ipv4addr, List<ReservationClaim> claims, FixedAddress seen) {
        return conditional.write(view, ipv4addr, claims, seen, ConditionalWrites.Write.delete());
    }

    /**
     * Updates mac, name, comment and merges EAs into the fixed address at {@code ipv4addr} in
     * {@code view}, only if what it holds now matches one of {@code claims} (see
     * {@link #deleteFixedAddressIf}). An object that already carries the changes counts as written.
     */
    public VerifiedWrite updateFixedAddressIf(
            String view, String ipv4addr, List<ReservationClaim> claims, FixedAddressSpec changes) {
        return updateFixedAddressIf(view, ipv4addr, claims, changes, List.of());
    }

    /** As {@link #updateFixedAddressIf(String, String, List, FixedAddressSpec)}, also removing the EAs named. */
    public VerifiedWrite updateFixedAddressIf(
            String view,
            String ipv4addr,
            List<ReservationClaim> claims,
            FixedAddressSpec changes,
            Collection<String> removeEas) {
        return conditional.write(view, ipv4addr, claims, null, ConditionalWrites.Write.update(changes, removeEas));
    }

    /**
     * Deletes the network {@code cidr} of {@code view}, only if it still carries EA
     * {@code eaName} = {@code eaValue} and holds no fixed address (a network we carved and lost a
     * race for). Returns whether it deleted.
     */
    public boolean deleteEmptyNetworkIf(String view, String cidr, String eaName, String eaValue) {
        return networks.deleteEmptyIf(view, cidr, eaName, eaValue);
    }

    // ---------------------------------------------------------------- EA definitions, health

    /** Which of these extensible attributes are not defined on the grid, in the given order. */
    public Set<String> missingEaDefinitions(Collection<String> names) {
        return eaDefinitions.missing(names);
    }

    /** Cheapest call that proves the grid is reachable and accepts our credentials. */
    public void probe() {
        transport.probe();
    }

    @Override
    public void close() {
        transport.close();
    }
}
