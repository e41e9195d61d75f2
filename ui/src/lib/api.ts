/** Typed calls to the Rust commands (types generated from Rust in ./bindings). */
import { Channel, invoke as tauriInvoke } from "@tauri-apps/api/core";
import type { Command } from "./bindings/Command";
import type { RecoverySheet } from "./bindings/RecoverySheet";
import type { ServiceCommands } from "./bindings/ServiceCommands";
import type { ApiEndpoint } from "./bindings/ApiEndpoint";
import type { ActivityPage } from "./bindings/ActivityPage";
import type { ActivityQuery } from "./bindings/ActivityQuery";
import type { BackupSummary } from "./bindings/BackupSummary";
import type { DemoCreated } from "./bindings/DemoCreated";
import type { DemoDefaults } from "./bindings/DemoDefaults";
import type { EngineInstalled } from "./bindings/EngineInstalled";
import type { FileFor } from "./bindings/FileFor";
import type { KeptIn } from "./bindings/KeptIn";
import type { DrillReport } from "./bindings/DrillReport";
import type { FleetTile } from "./bindings/FleetTile";
import type { HealthReport } from "./bindings/HealthReport";
import type { KnownBackups } from "./bindings/KnownBackups";
import type { ListItem } from "./bindings/ListItem";
import type { ProfileEntry } from "./bindings/ProfileEntry";
import type { ProgressEvent } from "./bindings/ProgressEvent";
import type { PruneOutcome } from "./bindings/PruneOutcome";
import type { RestoreDone } from "./bindings/RestoreDone";
import type { RestorePlanned } from "./bindings/RestorePlanned";
import type { RetentionPlan } from "./bindings/RetentionPlan";
import type { RetentionPolicy } from "./bindings/RetentionPolicy";
import type { RotationReport } from "./bindings/RotationReport";
import type { RewrapReport } from "./bindings/RewrapReport";
import type { PolicyView } from "./bindings/PolicyView";
import type { PolicySetting } from "./bindings/PolicySetting";
import type { KeyCreated } from "./bindings/KeyCreated";
import type { ScheduleChoice } from "./bindings/ScheduleChoice";
import type { ScheduleView } from "./bindings/ScheduleView";
import type { SecretStatus } from "./bindings/SecretStatus";
import type { StorageReport } from "./bindings/StorageReport";
import type { VerifyReport } from "./bindings/VerifyReport";
import type { LocationOverview } from "./bindings/LocationOverview";
import type { LocationTest } from "./bindings/LocationTest";
import type { NewLocation } from "./bindings/NewLocation";
import type { OffsiteVerify } from "./bindings/OffsiteVerify";
import type { PushReport } from "./bindings/PushReport";
import type { StoredCopy } from "./bindings/StoredCopy";
import type { Fetched } from "./bindings/Fetched";
import type { InsideOpened } from "./bindings/InsideOpened";
import type { PageRequest } from "./bindings/PageRequest";
import type { TablePage } from "./bindings/TablePage";
import type { QueryResult } from "./bindings/QueryResult";
import type { DiffOptions } from "./bindings/DiffOptions";
import type { DiffReport } from "./bindings/DiffReport";
import type { PartialOptions } from "./bindings/PartialOptions";
import type { RowsOutcome } from "./bindings/RowsOutcome";

/** Invokes a command by its typed name (generated from Rust's list). */
function invoke<T>(cmd: Command, args?: Record<string, unknown>): Promise<T> {
  return tauriInvoke<T>(cmd, args);
}

let counter = 0;

/** A long operation: its id (for cancel) and its progress channel. */
export function operation(onProgress: (e: ProgressEvent) => void): { op: string; onProgress: Channel<ProgressEvent> } {
  counter += 1;
  const channel = new Channel<ProgressEvent>();
  channel.onmessage = onProgress;
  return { op: `op-${Date.now()}-${counter}`, onProgress: channel };
}

export const api = {
  listProfiles: () => invoke<ProfileEntry[]>("list_profiles"),
  addLocalProfile: (name: string, dataDir: string) => invoke<void>("add_local_profile", { name, dataDir }),
  addRemoteProfile: (name: string, baseUrl: string, username: string, caCert: string | null) =>
    invoke<void>("add_remote_profile", { name, baseUrl, username, caCert }),
  addSshProfile: (name: string, destination: string, port: number | null, dataDir: string, identity: string | null, api: ApiEndpoint | null) =>
    invoke<void>("add_ssh_profile", { name, destination, port, dataDir, identity, api }),
  installEngine: (profile: string, confirmation: string) => invoke<EngineInstalled>("install_engine", { profile, confirmation }),
  removeProfile: (name: string) => invoke<void>("remove_profile", { name }),
  demoDefaults: () => invoke<DemoDefaults>("demo_defaults"),
  /** A demo; what is null takes its default (name, folder, a random passphrase). */
  createDemo: (profile: string | null, dir: string | null, sizeMib: number, passphrase: string | null, keepIn: KeptIn) =>
    invoke<DemoCreated>("create_demo", { profile, dir, sizeMib, passphrase, keepIn }),
  /** The native folder picker; null when cancelled. */
  pickFolder: (title: string, start: string | null) => invoke<string | null>("pick_folder", { title, start }),
  /** The native file picker; null when cancelled. */
  pickFile: (purpose: FileFor) => invoke<string | null>("pick_file", { purpose }),
  fleetCached: () => invoke<FleetTile[]>("fleet_cached"),
  fleetRefresh: (onTile: Channel<FleetTile>) => invoke<FleetTile[]>("fleet_refresh", { onTile }),
  fleetRefreshProfile: (profile: string) => invoke<FleetTile>("fleet_refresh_profile", { profile }),
  knownBackups: (profile: string) => invoke<KnownBackups | null>("known_backups", { profile }),
  listBackups: (profile: string) => invoke<ListItem[]>("list_backups", { profile }),
  backupNow: (profile: string, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<BackupSummary>("backup_now", { profile, op, onProgress }),
  verify: (profile: string, name: string, deep: boolean, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<VerifyReport>("verify_backup", { profile, name, deep, op, onProgress }),
  drill: (profile: string, name: string | null, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<DrillReport>("drill_backup", { profile, name, op, onProgress }),
  setPinned: (profile: string, name: string, pinned: boolean) => invoke<void>("set_pinned", { profile, name, pinned }),
  deleteBackup: (profile: string, name: string) => invoke<void>("delete_backup", { profile, name }),
  planRestore: (profile: string, name: string, service: ServiceCommands | null = null) =>
    invoke<RestorePlanned>("plan_restore", { profile, name, service }),
  restore: (profile: string, name: string, confirmation: string, op: string, onProgress: Channel<ProgressEvent>, service: ServiceCommands | null = null) =>
    invoke<RestoreDone>("restore_backup", { profile, name, confirmation, service, op, onProgress }),
  health: (profile: string) => invoke<HealthReport>("database_health", { profile }),
  storage: (profile: string) => invoke<StorageReport>("storage_report", { profile }),
  activity: (profile: string, query: ActivityQuery) => invoke<ActivityPage>("activity", { profile, query }),
  retentionPolicy: (profile: string) => invoke<RetentionPolicy>("retention_policy", { profile }),
  previewRetention: (profile: string, policy: RetentionPolicy) =>
    invoke<RetentionPlan>("preview_retention", { profile, policy }),
  applyRetention: (profile: string, policy: RetentionPolicy) =>
    invoke<PruneOutcome>("apply_retention", { profile, policy }),
  secretStatus: (profile: string) => invoke<SecretStatus>("secret_status", { profile }),
  setPassphrase: (profile: string, passphrase: string, keepIn: KeptIn, newSet = false) =>
    invoke<void>("set_passphrase", { profile, passphrase, keepIn, newSet }),
  keptInSession: () => invoke<number>("kept_in_session"),
  testPassphrase: (profile: string) => invoke<string>("test_passphrase", { profile }),
  forgetPassphrase: (profile: string) => invoke<boolean>("forget_passphrase", { profile }),
  recoverySheet: (profile: string, confirmation: string) => invoke<RecoverySheet>("recovery_sheet", { profile, confirmation }),
  rotatePassphrase: (profile: string, newPassphrase: string) =>
    invoke<RotationReport>("rotate_passphrase", { profile, newPassphrase }),
  login: (profile: string, password: string, remember: boolean) => invoke<void>("login", { profile, password, remember }),
  logout: (profile: string) => invoke<void>("logout", { profile }),
  encryptionPolicy: (profile: string) => invoke<PolicyView>("encryption_policy", { profile }),
  setEncryptionPolicy: (profile: string, setting: PolicySetting) => invoke<PolicyView>("set_encryption_policy", { profile, setting }),
  createKey: (name: string, folder: string) => invoke<KeyCreated>("create_key", { name, folder }),
  rewrapBackups: (profile: string, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<RewrapReport>("rewrap_backups", { profile, op, onProgress }),
  scheduleStatus: (profile: string) => invoke<ScheduleView>("schedule_status", { profile }),
  installSchedule: (profile: string, choice: ScheduleChoice) => invoke<ScheduleView>("install_schedule", { profile, choice }),
  removeSchedule: (profile: string) => invoke<ScheduleView>("remove_schedule", { profile }),
  cancel: (id: string) => invoke<boolean>("cancel_operation", { id }),
  offsiteOverview: (profile: string) => invoke<LocationOverview[]>("offsite_overview", { profile }),
  addOffsiteLocation: (profile: string, name: string, store: NewLocation) =>
    invoke<void>("add_offsite_location", { profile, name, store }),
  removeOffsiteLocation: (name: string) => invoke<void>("remove_offsite_location", { name }),
  testOffsiteLocation: (name: string) => invoke<LocationTest>("test_offsite_location", { name }),
  pushOffsite: (profile: string, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<PushReport[]>("push_offsite", { profile, op, onProgress }),
  verifyOffsite: (profile: string, deep: boolean, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<OffsiteVerify[]>("verify_offsite", { profile, deep, op, onProgress }),
  offsiteCopies: (name: string) => invoke<StoredCopy[]>("offsite_copies", { name }),
  fetchOffsite: (profile: string, location: string, name: string, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<Fetched>("fetch_offsite", { profile, location, name, op, onProgress }),
  /** Opens backup `name` (decrypted and checked first) or, null, the live database read-only. */
  openInside: (profile: string, name: string | null, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<InsideOpened>("open_inside", { profile, name, op, onProgress }),
  insidePage: (id: string, request: PageRequest) => invoke<TablePage>("inside_page", { id, request }),
  insideQuery: (id: string, sql: string) => invoke<QueryResult>("inside_query", { id, sql }),
  compareInside: (old: string, newer: string, options: DiffOptions) =>
    invoke<DiffReport>("compare_inside", { old, new: newer, options }),
  closeInside: (id: string) => invoke<boolean>("close_inside", { id }),
  /** A partial restore planned (`dryRun`) or done after the typed confirmation; `name` a
   *  `prerestore_rows_` backup with no tables: its undo. */
  restoreRows: (profile: string, name: string, options: PartialOptions, dryRun: boolean, confirmation: string, op: string, onProgress: Channel<ProgressEvent>) =>
    invoke<RowsOutcome>("restore_rows", { profile, name, options, dryRun, confirmation, op, onProgress }),
};
