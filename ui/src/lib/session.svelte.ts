/** Passphrases kept in memory for this app session only (no keychain could keep them): the banner's state. */
import { api } from "./api";

export const sessionKeeping = $state({ count: 0 });

/** Asks the app how many passphrases it keeps in memory now. */
export async function refreshSessionKeeping(): Promise<void> {
  try {
    sessionKeeping.count = await api.keptInSession();
  } catch {
    // The banner keeps what it showed; the failing action reports its own error.
  }
}
