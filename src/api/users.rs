//! `/api_status/`, `/user`, `/users/{name}`: the key check, the caller, and accounts.

use actix_web::{web, HttpResponse};

use crate::api::wire::{Status, User};
use crate::api::{ok, run, ApiError, Key, State};
use crate::app::accounts;

/// Checks the API key: the SDK calls it when a client is made.
#[utoipa::path(get, path = "/api_status/", tag = "Account",
    params(("lib_version" = Option<String>, Query, description = "The SDK's version (ignored)")),
    responses((status = 200, body = Status), (status = 401, description = "No key, or a wrong or revoked one")),
    security(("api_key" = [])))]
pub async fn api_status(state: State, key: Key) -> Result<HttpResponse, ApiError> {
    run(&state, key, |_, _| Ok(())).await?;
    Ok(ok(&Status { status: "ok" }))
}

/// You: your account, your email and every organization you belong to, with your roles.
#[utoipa::path(get, path = "/user", tag = "Account",
    responses((status = 200, body = User), (status = 401)),
    security(("api_key" = [])))]
pub async fn me(state: State, key: Key) -> Result<HttpResponse, ApiError> {
    let me = run(&state, key, accounts::me).await?;
    Ok(ok(&User::me(me)))
}

/// A user, or an organization with every member (to its members only: to anyone else an
/// organization answers 404, as one that does not exist).
#[utoipa::path(get, path = "/users/{name}", tag = "Account",
    params(("name" = String, Path, description = "A username or an organization's name")),
    responses((status = 200, body = User), (status = 401), (status = 404)),
    security(("api_key" = [])))]
pub async fn account(
    state: State,
    key: Key,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let view = run(&state, key, move |c, p| accounts::account(c, p, &name)).await?;
    Ok(ok(&User::view(view)))
}
