package infobloxcni.daemon.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LogLevelsTest {
    @AfterEach
    void backToInfo() {
        LogLevels.configure(Level.INFO);
    }

    @Test
    void theNamesOperatorsUseAndTheJdksAreAccepted() {
        assertEquals(Level.SEVERE, LogLevels.parse("error"));
        assertEquals(Level.WARNING, LogLevels.parse("warn"));
        assertEquals(Level.INFO, LogLevels.parse("info"));
        assertEquals(Level.FINE, LogLevels.parse("debug"));
        assertEquals(Level.FINEST, LogLevels.parse("trace"));
        assertEquals(Level.FINE, LogLevels.parse("DEBUG"), "the settings file's case does not matter");
        assertEquals(Level.WARNING, LogLevels.parse("WARNING"));
        assertEquals(Level.FINER, LogLevels.parse("finer"));
        assertEquals(Level.INFO, LogLevels.parse(" info "));
    }

    @Test
    void anythingElseIsRefusedNamingTheSettingAndTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LogLevels.parse("verbose"));
        assertTrue(e.getMessage().startsWith("--log-level must be error, warn, info, debug or trace"), e.getMessage());
        assertTrue(e.getMessage().endsWith("got 'verbose'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LogLevels.parse("7"), "no numeric levels");
    }

    @Test
    void debugTurnsOnThisProjectsLoggersAndNotTheJdksOwn() {
        LogLevels.configure(LogLevels.parse("debug"));
        assertTrue(Logger.getLogger("infobloxcni.daemon.settle.PoolKeeper").isLoggable(Level.FINE));
        assertTrue(Logger.getLogger("infobloxcni.wapi.WapiTransport").isLoggable(Level.FINE));
        assertFalse(
                Logger.getLogger("sun.net.www.protocol.http.HttpURLConnection").isLoggable(Level.FINE));
        assertFalse(Logger.getLogger("com.sun.net.httpserver").isLoggable(Level.FINE));
        assertTrue(Logger.getLogger("com.sun.net.httpserver").isLoggable(Level.INFO), "their warnings still show");
    }

    @Test
    void warnQuietsEveryone() {
        LogLevels.configure(LogLevels.parse("warn"));
        assertFalse(Logger.getLogger("infobloxcni.daemon.ipam.Ipam").isLoggable(Level.INFO));
        assertFalse(Logger.getLogger("javax.management").isLoggable(Level.INFO));
        assertTrue(Logger.getLogger("infobloxcni.daemon.ipam.Ipam").isLoggable(Level.WARNING));
    }
}
