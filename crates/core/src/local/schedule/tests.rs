//! Unit tests of the scheduled jobs' text and reading back.
use super::*;

#[test]
fn job_times_in_systemd_and_cron_words() {
    let at = NaiveTime::from_hms_opt(3, 5, 0).unwrap();
    let daily = JobTime { weekday: None, at };
    let sunday = JobTime {
        weekday: Some(chrono::Weekday::Sun),
        at,
    };
    assert_eq!(daily.calendar(), "*-*-* 03:05:00");
    assert_eq!(sunday.calendar(), "Sun *-*-* 03:05:00");
    assert_eq!(daily.cron(), "5 3 * * *");
    assert_eq!(sunday.cron(), "5 3 * * 0");
}

#[test]
fn a_path_with_spaces_is_one_quoted_word_and_read_back_whole() {
    assert_eq!(safe(Path::new("/srv/a")).unwrap(), "/srv/a");
    assert_eq!(
        safe(Path::new("/home/server home/bin/backupdesk")).unwrap(),
        "\"/home/server home/bin/backupdesk\""
    );
    for bad in [
        "/a\tb", "/a\nb", "/a%b", "/a$b", "/a\"b", "/a'b", "/a`b", "/a\\b",
    ] {
        assert!(
            matches!(safe(Path::new(bad)), Err(ScheduleError::UnsafePath(_))),
            "{bad:?}"
        );
    }
    let line = "\"/home/server home/backupdesk\" --data-dir \"/srv/my sm\" --yes backup";
    assert_eq!(
        words_of(line),
        [
            "/home/server home/backupdesk",
            "--data-dir",
            "/srv/my sm",
            "--yes",
            "backup"
        ]
    );
    assert_eq!(data_dir_in(line).as_deref(), Some("/srv/my sm"));
}

#[test]
fn a_job_names_the_folder_it_backs_up() {
    let line = "0 2 * * * /usr/bin/backupdesk --data-dir /srv/a --passphrase-file /root/p --yes backup >/dev/null 2>&1 # backupdesk-backup";
    assert_eq!(data_dir_in(line).as_deref(), Some("/srv/a"));
    assert_eq!(data_dir_in("/usr/bin/backupdesk backup"), None);
    let status = ScheduleStatus {
        scheduler: Scheduler::Cron {
            crontab: "crontab".into(),
        },
        installed: true,
        definition: Some(line.into()),
        jobs: vec![JobStatus {
            job: Job::Backup,
            installed: true,
            definition: Some(line.into()),
            data_dir: Some("/srv/a".into()),
        }],
    };
    assert!(status.job_for(Job::Backup, Path::new("/srv/a/")).is_some());
    assert!(status.job_for(Job::Backup, Path::new("/srv/b")).is_none());
    assert!(status.job_for(Job::Verify, Path::new("/srv/a")).is_none());
}

#[test]
fn only_our_marked_lines_are_ours() {
    let table = "1 2 * * * other # backupdesk-backup-not\n0 2 * * * x # backupdesk-backup\n0 3 * * * y # backupdesk-verify\nMAILTO=a\n";
    assert_eq!(
        without_our_lines(table),
        "1 2 * * * other # backupdesk-backup-not\nMAILTO=a\n"
    );
}

fn spec(program: &str, data_dir: &str) -> ScheduleSpec {
    ScheduleSpec {
        at: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        verify_at: None,
        drill: None,
        program: program.into(),
        data_dir: data_dir.into(),
        passphrase_file: Some("/root/.pass".into()),
    }
}

#[test]
fn a_jobs_command_names_the_folder_and_the_file_never_the_passphrase() {
    let line = command_line(&spec("/usr/bin/backupdesk", "/opt/sm"), Job::Verify).unwrap();
    assert_eq!(
        line,
        "/usr/bin/backupdesk --data-dir /opt/sm --passphrase-file /root/.pass --yes verify --rolling"
    );
    let spaced = command_line(&spec("/home/a b/backupdesk", "/srv/my sm"), Job::Backup).unwrap();
    assert_eq!(data_dir_in(&spaced).as_deref(), Some("/srv/my sm"));
    assert_eq!(words_of(&spaced)[0], "/home/a b/backupdesk");
    assert!(matches!(
        command_line(&spec("/usr/bin/backupdesk", "/opt/100%"), Job::Drill),
        Err(ScheduleError::UnsafePath(_))
    ));
}

#[test]
fn only_the_jobs_asked_for_are_wanted() {
    let mut s = spec("/b", "/d");
    assert_eq!(
        wanted(&s).iter().map(|(j, _)| *j).collect::<Vec<_>>(),
        [Job::Backup]
    );
    s.verify_at = NaiveTime::from_hms_opt(3, 30, 0);
    s.drill = Some(JobTime {
        weekday: Some(chrono::Weekday::Sun),
        at: NaiveTime::from_hms_opt(4, 30, 0).unwrap(),
    });
    assert_eq!(
        wanted(&s).iter().map(|(j, _)| *j).collect::<Vec<_>>(),
        Job::ALL
    );
    assert!(is_job_line("5 3 * * * x # backupdesk-drill", Job::Drill));
    assert!(!is_job_line(
        "5 3 * * * x # backupdesk-drill-old",
        Job::Drill
    ));
}
