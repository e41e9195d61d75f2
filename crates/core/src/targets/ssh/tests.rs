//! Unit tests of the SSH host: its command lines and answers.
use super::*;
use crate::KindedError;

#[test]
fn words_reach_the_remote_shell_unchanged() {
    assert_eq!(quote("list"), "list");
    assert_eq!(quote("a b"), "'a b'");
    assert_eq!(quote("it's"), r"'it'\''s'");
    assert_eq!(quote("~/.local/bin/backupdesk"), "~/.local/bin/backupdesk");
    assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    assert_eq!(quote(""), "''");
    assert_eq!(
        shell_line(&[
            "backupdesk".into(),
            "--data-dir".into(),
            "/srv/my sm".into()
        ]),
        "backupdesk --data-dir '/srv/my sm'"
    );
}

#[test]
fn ssh_failures_are_told_apart() {
    let unknown = classify_ssh_failure(
        "root@h",
        "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n",
        || "SHA256:abc".into(),
    );
    assert_eq!(unknown.kind(), crate::ErrorKind::HostKeyUnknown);
    assert!(unknown.to_string().contains("SHA256:abc"));
    let changed = classify_ssh_failure(
        "root@h",
        "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:xyz.\nHost key verification failed.",
        || unreachable!("the changed key's fingerprint is in ssh's own text"),
    );
    assert_eq!(changed.kind(), crate::ErrorKind::HostKeyChanged);
    assert!(changed.to_string().contains("SHA256:xyz"));
    let refused = classify_ssh_failure(
        "nobody@h",
        "nobody@127.0.0.1: Permission denied (publickey).",
        String::new,
    );
    assert_eq!(refused.kind(), crate::ErrorKind::LoginFailed);
    let down = classify_ssh_failure(
        "root@h",
        "ssh: connect to host 127.0.0.1 port 1: Connection refused",
        String::new,
    );
    assert_eq!(down.kind(), crate::ErrorKind::Unreachable);
}

/// Issue 27, case 7: two operations started in the same second by the
/// same PID (two containers' cron jobs, where the PID is 1) never
/// share an id, so never share the server's answer files.
#[test]
fn operation_ids_are_unique_even_in_the_same_second_and_process() {
    let ids: std::collections::HashSet<String> = (0..2000).map(|_| new_op_id()).collect();
    assert_eq!(ids.len(), 2000);
    for id in &ids {
        assert_eq!(&op_id(id), id, "an id is a safe file name: {id}");
        assert!(id.len() > 32, "{id}");
    }
}

/// Issue 27, case 9: the cut-off records of profiles `p.x` and `px`
/// (and `p_x`) are kept apart: a call on one never settles or reports
/// the other's operation.
#[test]
fn pending_records_are_kept_by_the_exact_profile_name() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["p.x", "px", "p_x", "p/x", "P.X"];
    for name in names {
        PendingOps::of_profile(dir.path(), name, memory())
            .begin(&format!("op-{}", hex::encode(name)), name)
            .unwrap();
    }
    for name in names {
        let listed = PendingOps::of_profile(dir.path(), name, memory()).list();
        assert_eq!(listed.len(), 1, "{name}: {listed:?}");
        assert_eq!(listed[0].1, name);
    }
}

/// A flood of stderr is kept to its end, bounded; progress lines are
/// taken out wherever they are.
#[test]
fn stderr_is_kept_bounded() {
    let mut flood = "x".repeat(100).repeat(10_000);
    flood.push('\n');
    let text = flood.repeat(3) + "the last words\n";
    let kept = read_stderr(text.as_bytes(), &crate::progress::NoProgress);
    assert!(kept.len() <= 2 * STDERR_KEPT + 200, "{}", kept.len());
    assert!(kept.ends_with("the last words\n"));
    assert!(kept.starts_with('['), "says what it dropped");
}

/// A secret store of this test's own.
fn memory() -> crate::context::SharedSecrets {
    std::sync::Arc::new(crate::context::MemorySecrets::new())
}

/// A rotation's new passphrase waits beside the current one and becomes
/// the profile's own only when the rotation completed (exit 0); any other
/// outcome keeps both and says so; the mark is read once.
#[test]
fn a_rotations_new_passphrase_is_promoted_only_when_it_completed() {
    use crate::format::crypto::Passphrase;
    use crate::keychain::SecretKind;
    let dir = tempfile::tempdir().unwrap();
    for (code, promoted) in [(Some(0), true), (Some(1), false), (None, false)] {
        let secrets = memory();
        secrets
            .set("srv", SecretKind::Passphrase, "the old one")
            .unwrap();
        let pending = PendingOps::of_profile(dir.path(), "srv", secrets.clone());
        let new = Passphrase::new("the new one".into());
        pending
            .begin_rotation("op-1", "passphrase rotate", &new)
            .unwrap();
        assert_eq!(pending.list().len(), 1);
        let note = pending
            .finish_rotation("op-1", code)
            .expect("a rotation's note");
        let now = secrets.get("srv", SecretKind::Passphrase).unwrap().unwrap();
        let waiting = secrets.get("srv", SecretKind::RotationPassphrase).unwrap();
        if promoted {
            assert_eq!(now.as_str(), "the new one");
            assert!(waiting.is_none());
            assert!(note.contains("completed"), "{note}");
        } else {
            assert_eq!(now.as_str(), "the old one", "{code:?}");
            assert_eq!(waiting.as_deref().map(String::as_str), Some("the new one"));
            assert!(note.contains("did not complete"), "{note}");
        }
        // Read once: a second look finds no rotation.
        assert_eq!(pending.finish_rotation("op-1", code), None);
        pending.end("op-1");
        assert!(pending.list().is_empty());
    }
}

/// An operation that was no rotation has no follow-up.
#[test]
fn an_operation_that_was_no_rotation_has_no_follow_up() {
    let dir = tempfile::tempdir().unwrap();
    let pending = PendingOps::of_profile(dir.path(), "srv", memory());
    pending.begin("op-2", "backup").unwrap();
    assert_eq!(pending.finish_rotation("op-2", Some(0)), None);
    assert_eq!(pending.list(), [("op-2".to_owned(), "backup".to_owned())]);
}
