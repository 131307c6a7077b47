//! Diesel's view of the tables created by `migrations/{sqlite,postgres}`.

diesel::table! {
    accounts (id) {
        id -> Integer,
        username -> Text,
        username_key -> Text,
        kind -> Text,
        display_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        email -> Text,
        email_key -> Text,
        password_hash -> Text,
        password_changed_at -> Timestamp,
        email_verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Integer,
        description -> Text,
        contact_email -> Text,
        created_by -> Nullable<Integer>,
        member_count -> Integer,
        invite_only -> Bool,
        admin_count -> Integer,
    }
}

diesel::table! {
    memberships (id) {
        id -> Integer,
        org_id -> Integer,
        user_id -> Integer,
        username_key -> Text,
        role -> Text,
        default_dataset_role -> Nullable<Text>,
        created_at -> Timestamp,
        search_text -> Text,
        email_key -> Text,
    }
}

diesel::table! {
    datasets (id) {
        id -> Integer,
        owner_id -> Integer,
        name -> Text,
        name_key -> Text,
        description -> Text,
        task_type -> Text,
        is_public -> Bool,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
        cloned_from_id -> Nullable<Integer>,
        sort_key -> Text,
        collaborator_count -> Integer,
    }
}

diesel::table! {
    collaborators (id) {
        id -> Integer,
        dataset_id -> Integer,
        user_id -> Integer,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Integer,
        account_id -> Integer,
        actor_id -> Nullable<Integer>,
        actor_name -> Text,
        action -> Text,
        subject_name -> Nullable<Text>,
        details -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Integer,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (scope_key) {
        scope_key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> Integer,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamp,
        locked_by -> Nullable<Text>,
        last_error -> Text,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Integer,
        org_id -> Integer,
        invitee_id -> Nullable<Integer>,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        role -> Text,
        default_dataset_role -> Nullable<Text>,
        token_hash -> Text,
        status -> Text,
        invited_by -> Nullable<Integer>,
        inviter_name -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        responded_at -> Nullable<Timestamp>,
        email_job_id -> Nullable<Integer>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Integer,
        user_id -> Integer,
        purpose -> Text,
        email -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_limits (scope_key) {
        scope_key -> Text,
        hits -> Integer,
        window_started_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Integer,
        user_id -> Integer,
        name -> Text,
        key_hash -> Text,
        key_prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Integer,
        org_id -> Integer,
        url -> Text,
        secret -> Text,
        events -> Text,
        active -> Bool,
        consecutive_failures -> Integer,
        disabled_reason -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Integer,
        webhook_id -> Integer,
        guid -> Text,
        event_key -> Text,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        status_code -> Nullable<Integer>,
        created_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Integer,
        delivery_id -> Integer,
        attempt -> Integer,
        status_code -> Nullable<Integer>,
        duration_ms -> Integer,
        error -> Text,
        request_headers -> Text,
        response_headers -> Text,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> accounts (id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(organizations -> accounts (id));
diesel::joinable!(memberships -> organizations (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(datasets -> accounts (owner_id));
diesel::joinable!(collaborators -> datasets (dataset_id));
diesel::joinable!(collaborators -> users (user_id));
diesel::joinable!(audit_events -> accounts (account_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(invitations -> organizations (org_id));
diesel::joinable!(invitations -> jobs (email_job_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(webhooks -> organizations (org_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    users,
    organizations,
    memberships,
    datasets,
    collaborators,
    audit_events,
    sessions,
    login_throttle,
    jobs,
    invitations,
    email_tokens,
    mail_limits,
    api_keys,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
);
