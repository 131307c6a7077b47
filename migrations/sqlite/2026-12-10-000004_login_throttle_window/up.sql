-- The sweep deletes counters whose window is over (app::sweep).
CREATE INDEX login_throttle_window ON login_throttle (window_started_at);
