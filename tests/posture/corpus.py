"""Labelled tool definitions for measuring the tool classifier (precision / recall per capability).

Labelling policy - how a security reviewer reads a tool, independent of how the classifier works:
- reads_private_data: returns organisational or personal records: users, customers, employees,
  patients, mailboxes, chats, calendars, notes, logs, tickets, orders, financial records, database
  rows, and anything on the local file system or a file drive (contents or listings). Generic
  documentation, public facts (weather, stock prices, time) and status/metadata do not count.
- reads_untrusted_content: returns content that someone outside the organisation can author: web
  pages, URLs, search results, feeds, inbound e-mail, chat messages, GitHub issues and repositories,
  downloads, data fetched over HTTP from a third party.
- writes_external: sends data to people or places outside the tool's own store: e-mail, SMS, chat
  messages, webhooks, HTTP posts, uploads, public posts, GitHub issues/PRs/pushes, shares.
- writes_internal: creates or modifies records or files inside the organisation.
- destructive: deletes or irreversibly overwrites data, kills processes; also when the tool's
  server declares ``destructiveHint: true``.
- code_execution: runs caller-supplied code, commands or SQL (an interpreter of any kind).
- secrets_access: returns or manages credentials (keys, passwords, tokens, vault entries, env).
- privilege_admin: changes who can do what (roles, permissions, admins, account suspension).
- infrastructure: changes running infrastructure (deploy, scale, migrate, DNS, firewalls, VMs).
- financial: moves money or creates a financial obligation (pay, refund, charge, buy, order).
- scope: admin with privilege_admin / infrastructure / deletion of users or accounts; write with any
  other write (including code execution and financial); read otherwise.
- dangerous: any of destructive, code_execution, secrets_access, privilege_admin, writes_external,
  financial, infrastructure.
- Pure text transforms (format, convert, count, validate) have no capability whatever their words.

Groups: ``lookalike`` benign tools whose names contain scary substrings; ``innocent`` dangerous
tools with innocent-looking names; ``read`` / ``write`` ordinary tools; ``mcp`` real MCP server
tools (descriptions paraphrased, annotations as the servers declare them); ``description`` /
``params`` / ``annotations`` / ``sinks`` cases decided by that signal.

``split``: ``dev`` entries were written together with the classifier; ``holdout`` entries were
written after it was frozen and first measured unchanged (figures in ``bench/README.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PRIV = "reads_private_data"
UNTR = "reads_untrusted_content"
WEXT = "writes_external"
WINT = "writes_internal"
DEST = "destructive"
CODE = "code_execution"
SECR = "secrets_access"
ADMIN = "privilege_admin"
INFRA = "infrastructure"
FIN = "financial"

BENIGN_GROUPS = frozenset({"lookalike", "read"})


@dataclass(frozen=True)
class LabelledTool:
    """One tool definition with the label a security reviewer gives it."""

    group: str
    name: str
    scope: str
    capabilities: frozenset[str]
    dangerous: bool
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    sinks: tuple[str, ...] = ()
    split: str = "dev"


def _schema(params: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": {p: {"type": "string"} for p in params}}


def _t(
    group: str,
    name: str,
    scope: str,
    caps: set[str] | frozenset[str],
    dangerous: bool,
    *,
    desc: str | None = None,
    params: tuple[str, ...] | list[str] | None = None,
    schema: dict[str, Any] | None = None,
    ann: dict[str, Any] | None = None,
    sinks: tuple[str, ...] = (),
    split: str = "dev",
) -> LabelledTool:
    if params is not None:
        schema = _schema(params)
    return LabelledTool(
        group, name, scope, frozenset(caps), dangerous, desc, schema, ann, sinks, split
    )


_LOOKALIKES = [
    _t("lookalike", "executive_summary", "read", set(), False),
    _t("lookalike", "retrieval_search", "read", set(), False),
    _t("lookalike", "get_skills", "read", set(), False),
    _t("lookalike", "credit_check", "read", {PRIV}, False),
    _t("lookalike", "dropbox_list", "read", {PRIV}, False),
    _t("lookalike", "preset_lookup", "read", set(), False),
    _t("lookalike", "runtime_info", "read", set(), False),
    _t("lookalike", "sender_lookup", "read", {PRIV}, False),
    _t("lookalike", "count_tokens", "read", set(), False, params=["text", "model"]),
    _t("lookalike", "get_profile", "read", {PRIV}, False),
    _t("lookalike", "killswitch_status", "read", set(), False),
    _t("lookalike", "format_date", "read", set(), False),
    _t("lookalike", "drop_shadow_css", "read", set(), False),
    _t("lookalike", "post_code_lookup", "read", set(), False, params=["code"]),
    _t("lookalike", "update_check", "read", set(), False),
    _t("lookalike", "execution_history", "read", set(), False),
    _t("lookalike", "shell_color_theme", "read", set(), False),
    _t("lookalike", "remove_whitespace", "read", set(), False, params=["text"]),
    _t("lookalike", "evaluate_sentiment", "read", set(), False, params=["text"]),
    _t("lookalike", "exec_summary", "read", set(), False),
    _t("lookalike", "skill_matcher", "read", set(), False),
    _t("lookalike", "check_password_strength", "read", set(), False, params=["password"]),
    _t("lookalike", "token_counter", "read", set(), False),
    _t("lookalike", "keyboard_shortcuts", "read", set(), False),
    _t("lookalike", "tokenize_text", "read", set(), False),
    _t("lookalike", "format_currency", "read", set(), False, params=["amount", "currency"]),
    _t(
        "lookalike",
        "convert_currency",
        "read",
        set(),
        False,
        params=["amount", "from_currency", "to_currency"],
    ),
    _t("lookalike", "calculate_loan_payment", "read", set(), False),
    _t("lookalike", "validate_iban", "read", set(), False, params=["iban"]),
    _t("lookalike", "hash_password", "read", set(), False, params=["password"]),
    _t("lookalike", "explain_sql", "read", set(), False, params=["sql"]),
    _t("lookalike", "sql_formatter", "read", set(), False, params=["sql"]),
    _t("lookalike", "bash_syntax_check", "read", set(), False, params=["script"]),
    _t("lookalike", "python_docs_search", "read", set(), False, params=["query"]),
    _t("lookalike", "shell_escape_string", "read", set(), False),
    _t("lookalike", "email_validator", "read", set(), False, params=["email"]),
    _t("lookalike", "eval_metrics", "read", set(), False),
    _t("lookalike", "run_time_estimate", "read", set(), False),
    _t("lookalike", "drop_down_options", "read", set(), False),
    _t("lookalike", "kill_chain_analysis", "read", set(), False),
    _t("lookalike", "charge_level", "read", set(), False),
    _t("lookalike", "transfer_learning_guide", "read", set(), False),
    _t("lookalike", "payment_status", "read", set(), False),
    _t("lookalike", "is_admin", "read", set(), False),
    _t("lookalike", "has_permission", "read", set(), False),
    _t("lookalike", "can_delete_file", "read", set(), False, params=["path"]),
    _t("lookalike", "permission_check", "read", set(), False),
    _t("lookalike", "strip_html_tags", "read", set(), False),
    _t("lookalike", "truncate_text", "read", set(), False),
    _t("lookalike", "get_execution_plan", "read", set(), False),
    _t(
        "lookalike",
        "describe_command",
        "read",
        set(),
        False,
        desc="Explains what a shell command does without running it.",
        params=["command"],
    ),
    _t("lookalike", "password_policy", "read", set(), False),
    _t("lookalike", "grant_application_status", "read", set(), False),
    _t("lookalike", "trigger_warning_detector", "read", set(), False),
    _t("lookalike", "dump_truck_specs", "read", set(), False),
    _t("lookalike", "format_phone_number", "read", set(), False),
    _t("lookalike", "sms_character_count", "read", set(), False),
    _t("lookalike", "admin_contact_lookup", "read", {PRIV}, False),
    _t("lookalike", "webhook_docs", "read", set(), False),
    _t("lookalike", "shell_script_linter", "read", set(), False),
    _t("lookalike", "secret_santa_pairing", "read", set(), False),
    _t("lookalike", "access_log_viewer", "read", {PRIV}, False),
    _t("lookalike", "post_office_hours", "read", set(), False),
    _t("lookalike", "refund_policy_lookup", "read", set(), False),
    _t("read", "getHTTPResponse2", "read", {UNTR}, False),
]

_INNOCENT = [
    _t("innocent", "purge_rows", "write", {DEST}, True),
    _t("innocent", "rm", "write", {DEST}, True),
    _t("innocent", "bash", "write", {CODE}, True),
    _t("innocent", "transfer_funds", "write", {FIN}, True),
    _t("innocent", "grant_role", "admin", {ADMIN}, True),
    _t("innocent", "dispatch_message", "write", {WEXT}, True),
    _t("innocent", "apply_migration", "admin", {INFRA}, True),
    _t("innocent", "sh", "write", {CODE}, True),
    _t("innocent", "powershell", "write", {CODE}, True),
    _t("innocent", "python", "write", {CODE}, True),
    _t("innocent", "exec", "write", {CODE}, True),
    _t("innocent", "eval", "write", {CODE}, True),
    _t("innocent", "sql", "write", {CODE, PRIV}, True, params=["query"]),
    _t("innocent", "flush_db", "write", {DEST}, True),
    _t("innocent", "truncate_table", "write", {DEST}, True),
    _t("innocent", "reset_database", "write", {DEST}, True),
    _t("innocent", "nuke_environment", "admin", {INFRA, DEST}, True),
    _t("innocent", "prune_backups", "write", {DEST}, True),
    _t("innocent", "shred_document", "write", {DEST}, True),
    _t("innocent", "wipe_device", "write", {DEST}, True),
    _t("innocent", "format_disk", "write", {DEST}, True),
    _t("innocent", "kill_process", "write", {DEST}, True),
    _t("innocent", "terminate_instance", "admin", {INFRA, DEST}, True),
    _t("innocent", "unlink", "write", {DEST}, True),
    _t("innocent", "rmdir", "write", {DEST}, True),
    _t("innocent", "payout", "write", {FIN}, True),
    _t("innocent", "refund", "write", {FIN}, True),
    _t("innocent", "charge_card", "write", {FIN}, True),
    _t("innocent", "pay_invoice", "write", {FIN}, True),
    _t("innocent", "send_money", "write", {FIN}, True),
    _t("innocent", "wire_transfer", "write", {FIN}, True),
    _t("innocent", "buy_stock", "write", {FIN}, True),
    _t("innocent", "place_order", "write", {FIN}, True),
    _t("innocent", "withdraw", "write", {FIN}, True),
    _t("innocent", "add_admin", "admin", {ADMIN}, True),
    _t("innocent", "set_permissions", "admin", {ADMIN}, True),
    _t("innocent", "promote_user", "admin", {ADMIN}, True),
    _t("innocent", "impersonate_user", "admin", {ADMIN}, True),
    _t("innocent", "assign_role", "admin", {ADMIN}, True),
    _t("innocent", "add_collaborator", "admin", {ADMIN}, True),
    _t("innocent", "share_document", "write", {WEXT}, True),
    _t("innocent", "forward_email", "write", {WEXT}, True),
    _t("innocent", "publish_post", "write", {WEXT}, True),
    _t("innocent", "tweet", "write", {WEXT}, True),
    _t("innocent", "notify", "write", {WEXT}, True),
    _t("innocent", "page_oncall", "write", {WEXT}, True),
    _t("innocent", "webhook", "write", {WEXT}, True),
    _t("innocent", "post_to_slack", "write", {WEXT}, True),
    _t("innocent", "notify_webhook", "write", {WEXT}, True),
    _t("innocent", "upload_file", "write", {WEXT}, True),
    _t("innocent", "http_post", "write", {WEXT}, True),
    _t("innocent", "deploy_service", "admin", {INFRA}, True),
    _t("innocent", "scale_cluster", "admin", {INFRA}, True),
    _t("innocent", "terraform_apply", "admin", {INFRA}, True),
    _t("innocent", "restart_server", "admin", {INFRA}, True),
    _t("innocent", "rollback_release", "admin", {INFRA}, True),
    _t("innocent", "provision_vm", "admin", {INFRA}, True),
    _t("innocent", "helm_upgrade", "admin", {INFRA}, True),
    _t("innocent", "kubectl_apply", "admin", {INFRA}, True),
    _t("innocent", "update_dns_record", "admin", {INFRA}, True),
    _t("innocent", "open_firewall_port", "admin", {INFRA}, True),
    _t("innocent", "migrate_database", "admin", {INFRA}, True),
    _t("innocent", "shutdown_host", "admin", {INFRA}, True),
    _t("innocent", "read_secret", "read", {SECR}, True),
    _t("innocent", "get_api_key", "read", {SECR}, True),
    _t("innocent", "vault_read", "read", {SECR}, True),
    _t("innocent", "get_credentials", "read", {SECR}, True),
    _t("innocent", "fetch_token", "read", {SECR}, True),
    _t("innocent", "dump_env", "read", {SECR}, True),
    _t("innocent", "list_ssh_keys", "read", {SECR}, True),
    _t("innocent", "get_password", "read", {SECR}, True),
    _t("innocent", "run_python", "write", {CODE}, True, params=["code"]),
    _t("innocent", "exec_sql", "write", {CODE, PRIV}, True, params=["sql"]),
    _t("innocent", "execute_command", "write", {CODE}, True, params=["command"]),
    _t("innocent", "run_shell", "write", {CODE}, True),
    _t("innocent", "python_exec", "write", {CODE}, True),
    _t("innocent", "eval_js", "write", {CODE}, True),
    _t("innocent", "run_notebook_cell", "write", {CODE}, True),
    _t("innocent", "execute_script", "write", {CODE}, True),
    _t("innocent", "spawn_process", "write", {CODE}, True),
    _t("innocent", "code_interpreter", "write", {CODE}, True),
    _t("innocent", "delete_user", "admin", {DEST}, True),
    _t("innocent", "remove_file", "write", {DEST}, True),
    _t("innocent", "delete_repository", "write", {DEST}, True),
    _t("innocent", "drop_table", "write", {DEST}, True),
    _t("innocent", "purge_queue", "write", {DEST}, True),
    _t("innocent", "clear_history", "write", {DEST}, True),
    _t("innocent", "delete_bucket", "write", {DEST}, True),
    _t("innocent", "disable_user", "admin", {ADMIN}, True),
    _t("innocent", "ban_member", "admin", {ADMIN}, True),
    _t("innocent", "invoice_customer", "write", {FIN}, True),
    _t("innocent", "refund_order", "write", {FIN}, True),
    _t("innocent", "create_payment", "write", {FIN}, True),
    _t("innocent", "issue_refund", "write", {FIN}, True),
    _t("innocent", "checkout_cart", "write", {FIN}, True),
    _t("innocent", "send_sms", "write", {WEXT}, True),
    _t("innocent", "email_customer", "write", {WEXT}, True),
    _t("innocent", "reply_to_email", "write", {WEXT}, True),
    _t("innocent", "send_slack_message", "write", {WEXT}, True),
]

_READS = [
    _t("read", "search_docs", "read", set(), False, params=["query"]),
    _t("read", "get_weather", "read", set(), False, params=["city"]),
    _t("read", "list_files", "read", {PRIV}, False, params=["path"]),
    _t("read", "get_current_time", "read", set(), False),
    _t("read", "get_stock_price", "read", set(), False, params=["symbol"]),
    _t("read", "calculator", "read", set(), False, params=["expression"]),
    _t("read", "lookup_definition", "read", set(), False),
    _t("read", "translate_text", "read", set(), False, params=["text", "target_language"]),
    _t("read", "list_calendar_events", "read", {PRIV}, False),
    _t("read", "get_customer", "read", {PRIV}, False),
    _t("read", "search_products", "read", set(), False, params=["query"]),
    _t("read", "get_order_status", "read", set(), False),
    _t("read", "query_customers", "read", {PRIV}, False),
    _t("read", "read_database", "read", {PRIV}, False),
    _t("read", "get_medical_record", "read", {PRIV}, False),
    _t("read", "fetch_url", "read", {UNTR}, False, params=["url"]),
    _t("read", "browse_web", "read", {UNTR}, False),
    _t("read", "read_email", "read", {PRIV, UNTR}, False),
    _t("read", "search_web", "read", {UNTR}, False, params=["query"]),
    _t("read", "scrape_page", "read", {UNTR}, False, params=["url"]),
    _t("read", "crawl_site", "read", {UNTR}, False),
    _t("read", "download_attachment", "read", {PRIV, UNTR}, False),
    _t("read", "get_rss_feed", "read", {UNTR}, False),
    _t("read", "read_inbox", "read", {PRIV, UNTR}, False),
    _t("read", "get_tweets", "read", {UNTR}, False),
    _t("read", "list_users", "read", {PRIV}, False),
    _t("read", "get_employee_salary", "read", {PRIV}, False),
    _t("read", "search_contacts", "read", {PRIV}, False),
    _t("read", "get_transaction_history", "read", {PRIV}, False),
    _t("read", "get_account_balance", "read", {PRIV}, False),
    _t("read", "list_invoices", "read", {PRIV}, False),
    _t("read", "get_user_details", "read", {PRIV}, False),
    _t("read", "list_pods", "read", set(), False),
    _t("read", "get_cluster_health", "read", set(), False),
    _t("read", "list_deployments", "read", set(), False),
    _t("read", "terraform_plan", "read", set(), False),
    _t("read", "get_deployment_status", "read", set(), False),
    _t("read", "get_logs", "read", {PRIV}, False),
    _t("read", "wikipedia_search", "read", {UNTR}, False),
    _t("read", "get_news_headlines", "read", {UNTR}, False),
    _t("read", "web_search", "read", {UNTR}, False),
    _t("read", "google_search", "read", {UNTR}, False),
    _t("read", "youtube_transcript", "read", {UNTR}, False),
    _t("read", "summarize_url", "read", {UNTR}, False),
    _t("read", "get_page_content", "read", {UNTR}, False),
    _t("read", "list_repositories", "read", set(), False),
    _t("read", "get_time_zone", "read", set(), False),
    _t("read", "unit_converter", "read", set(), False),
    _t("read", "get_exchange_rate", "read", set(), False),
    _t("read", "get_recipe", "read", set(), False),
    _t("read", "search_flights", "read", set(), False),
    _t("read", "get_directions", "read", set(), False),
    _t("read", "read_chat_history", "read", {PRIV, UNTR}, False),
    _t("read", "get_calendar", "read", {PRIV}, False),
    _t("read", "get_weather_forecast", "read", set(), False),
    _t("read", "count_users", "read", set(), False),
    _t("read", "get_user_count", "read", set(), False),
]

_WRITES = [
    _t("write", "write_file", "write", {WINT}, False, params=["path", "content"]),
    _t("write", "update_record", "write", {WINT}, False),
    _t("write", "insert_row", "write", {WINT}, False),
    _t("write", "create_ticket", "write", {WINT}, False),
    _t("write", "save_note", "write", {WINT}, False),
    _t("write", "add_comment", "write", {WINT}, False),
    _t("write", "create_calendar_event", "write", {WINT}, False),
    _t("write", "rename_file", "write", {WINT}, False),
    _t("write", "append_to_log", "write", {WINT}, False),
    _t("write", "set_reminder", "write", {WINT}, False),
    _t("write", "update_user_profile", "write", {WINT}, False),
    _t("write", "create_task", "write", {WINT}, False),
    _t("write", "add_todo", "write", {WINT}, False),
    _t("write", "edit_document", "write", {WINT}, False),
    _t("write", "tag_photo", "write", {WINT}, False),
    _t("write", "update_spreadsheet_cell", "write", {WINT}, False),
    _t("write", "commit_changes", "write", {WINT}, False),
    _t("write", "create_branch", "write", {WINT}, False),
    _t("write", "archive_email", "write", {WINT}, False),
    _t("write", "mark_as_read", "write", {WINT}, False),
    _t("write", "create_email_draft", "write", {WINT}, False),
    _t("write", "save_memory", "write", {WINT}, False),
    _t("write", "store_embedding", "write", {WINT}, False),
    _t("write", "upsert_vector", "write", {WINT}, False),
    _t("write", "create_folder", "write", {WINT}, False),
    _t("write", "update_config", "write", {WINT}, False),
    _t("write", "log_event", "write", {WINT}, False),
    _t("write", "record_feedback", "write", {WINT}, False),
    _t("write", "set_status", "write", {WINT}, False),
    _t("write", "copy_file", "write", {WINT}, False),
    _t("write", "update_ticket", "write", {WINT}, False),
    _t("write", "close_issue", "write", {WINT}, False),
    _t("write", "assign_ticket", "write", {WINT}, False),
    _t("write", "add_label", "write", {WINT}, False),
    _t("write", "add_to_cart", "write", {WINT}, False),
    _t("write", "book_meeting_room", "write", {WINT}, False),
]

_RO = {"readOnlyHint": True}
_FS = "Only works within allowed directories."
_MCP = [
    # @modelcontextprotocol/server-filesystem
    _t(
        "mcp",
        "read_file",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path", "head", "tail"],
        desc="Read the complete contents of a file as text. DEPRECATED: Use read_text_file.",
    ),
    _t(
        "mcp",
        "read_text_file",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path", "head", "tail"],
        desc="Read the complete contents of a file from the file system as text. Use the 'head' "
        "parameter to read only the first N lines of a file. " + _FS,
    ),
    _t(
        "mcp",
        "read_media_file",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path"],
        desc="Read an image or audio file. Returns the base64 encoded data and MIME type. " + _FS,
    ),
    _t(
        "mcp",
        "read_multiple_files",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["paths"],
        desc="Read the contents of multiple files simultaneously. Failed reads for individual "
        "files won't stop the entire operation. " + _FS,
    ),
    _t(
        "mcp",
        "write_file",
        "write",
        {WINT, DEST},
        True,
        params=["path", "content"],
        ann={"readOnlyHint": False, "idempotentHint": True, "destructiveHint": True},
        desc="Create a new file or completely overwrite an existing file with new content. Use "
        "with caution as it will overwrite existing files without warning. " + _FS,
    ),
    _t(
        "mcp",
        "edit_file",
        "write",
        {WINT, DEST},
        True,
        params=["path", "edits", "dryRun"],
        ann={"readOnlyHint": False, "idempotentHint": False, "destructiveHint": True},
        desc="Make line-based edits to a text file. Each edit replaces exact line sequences with "
        "new content. Returns a git-style diff showing the changes made. " + _FS,
    ),
    _t(
        "mcp",
        "create_directory",
        "write",
        {WINT},
        False,
        params=["path"],
        ann={"readOnlyHint": False, "idempotentHint": True, "destructiveHint": False},
        desc="Create a new directory or ensure a directory exists. If the directory already "
        "exists, this operation will succeed silently. " + _FS,
    ),
    _t(
        "mcp",
        "list_directory",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path"],
        desc="Get a detailed listing of all files and directories in a specified path. " + _FS,
    ),
    _t(
        "mcp",
        "list_directory_with_sizes",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path", "sortBy"],
        desc="Get a detailed listing of all files and directories in a specified path, including "
        "sizes. " + _FS,
    ),
    _t(
        "mcp",
        "directory_tree",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path", "excludePatterns"],
        desc="Get a recursive tree view of files and directories as a JSON structure. " + _FS,
    ),
    _t(
        "mcp",
        "move_file",
        "write",
        {WINT},
        False,
        params=["source", "destination"],
        ann={"readOnlyHint": False, "idempotentHint": False, "destructiveHint": False},
        desc="Move or rename files and directories. If the destination exists, the operation "
        "will fail. " + _FS,
    ),
    _t(
        "mcp",
        "search_files",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path", "pattern", "excludePatterns"],
        desc="Recursively search for files and directories matching a pattern. Returns full "
        "paths to all matching items. " + _FS,
    ),
    _t(
        "mcp",
        "get_file_info",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=["path"],
        desc="Retrieve detailed metadata about a file or directory, without reading the actual "
        "content. " + _FS,
    ),
    _t(
        "mcp",
        "list_allowed_directories",
        "read",
        {PRIV},
        False,
        ann=_RO,
        params=[],
        desc="Returns the list of directories that this server is allowed to access.",
    ),
    # GitHub
    _t(
        "mcp",
        "create_issue",
        "write",
        {WEXT},
        True,
        params=["owner", "repo", "title", "body", "assignees", "labels", "milestone"],
        desc="Create a new issue in a GitHub repository.",
    ),
    _t(
        "mcp",
        "push_files",
        "write",
        {WEXT},
        True,
        params=["owner", "repo", "branch", "files", "message"],
        desc="Push multiple files to a GitHub repository in a single commit.",
    ),
    _t(
        "mcp",
        "create_pull_request",
        "write",
        {WEXT},
        True,
        params=["owner", "repo", "title", "body", "head", "base"],
        desc="Create a new pull request in a GitHub repository.",
    ),
    _t(
        "mcp",
        "get_file_contents",
        "read",
        {PRIV, UNTR},
        False,
        params=["owner", "repo", "path", "branch"],
        desc="Get the contents of a file or directory from a GitHub repository.",
    ),
    _t(
        "mcp",
        "list_issues",
        "read",
        {UNTR},
        False,
        params=["owner", "repo", "state", "labels"],
        desc="List issues in a GitHub repository with filtering options.",
    ),
    _t(
        "mcp",
        "search_repositories",
        "read",
        {UNTR},
        False,
        params=["query", "page"],
        desc="Search for GitHub repositories.",
    ),
    # Slack
    _t(
        "mcp",
        "slack_post_message",
        "write",
        {WEXT},
        True,
        params=["channel_id", "text"],
        desc="Post a new message to a Slack channel.",
    ),
    _t(
        "mcp",
        "slack_reply_to_thread",
        "write",
        {WEXT},
        True,
        params=["channel_id", "thread_ts", "text"],
        desc="Reply to a specific message thread.",
    ),
    _t(
        "mcp",
        "slack_get_channel_history",
        "read",
        {PRIV, UNTR},
        False,
        params=["channel_id", "limit"],
        desc="Get recent messages from a channel.",
    ),
    _t(
        "mcp",
        "slack_get_users",
        "read",
        {PRIV},
        False,
        params=["cursor", "limit"],
        desc="Get a list of workspace users with basic profile information.",
    ),
    _t(
        "mcp",
        "slack_get_user_profile",
        "read",
        {PRIV},
        False,
        params=["user_id"],
        desc="Get detailed profile information for a specific user.",
    ),
    # Postgres, Puppeteer, Fetch
    _t(
        "mcp",
        "query",
        "read",
        {PRIV},
        False,
        params=["sql"],
        desc="Run a read-only SQL query",
    ),
    _t(
        "mcp",
        "puppeteer_navigate",
        "read",
        {UNTR},
        False,
        params=["url"],
        desc="Navigate to a URL in the browser.",
    ),
    _t(
        "mcp",
        "puppeteer_evaluate",
        "write",
        {CODE},
        True,
        params=["script"],
        desc="Execute JavaScript in the browser console.",
    ),
    _t(
        "mcp",
        "fetch",
        "read",
        {UNTR},
        False,
        params=["url", "max_length", "start_index", "raw"],
        desc="Fetches a URL from the internet and optionally extracts its contents as markdown.",
    ),
    # Git
    _t(
        "mcp",
        "git_commit",
        "write",
        {WINT},
        False,
        params=["repo_path", "message"],
        desc="Records changes to the repository.",
    ),
    _t(
        "mcp",
        "git_add",
        "write",
        {WINT},
        False,
        params=["repo_path", "files"],
        desc="Adds file contents to the staging area.",
    ),
    _t(
        "mcp",
        "git_reset",
        "write",
        {WINT},
        False,
        params=["repo_path"],
        desc="Unstages all staged changes.",
    ),
    _t(
        "mcp",
        "git_create_branch",
        "write",
        {WINT},
        False,
        params=["repo_path", "branch_name", "base_branch"],
        desc="Creates a new branch.",
    ),
    _t(
        "mcp",
        "git_checkout",
        "write",
        {WINT},
        False,
        params=["repo_path", "branch_name"],
        desc="Switches branches.",
    ),
    # Memory
    _t(
        "mcp",
        "create_entities",
        "write",
        {WINT},
        False,
        params=["entities"],
        desc="Create multiple new entities in the knowledge graph.",
    ),
    _t(
        "mcp",
        "delete_entities",
        "write",
        {DEST},
        True,
        params=["entityNames"],
        desc="Delete multiple entities and their associated relations from the knowledge graph.",
    ),
    _t("mcp", "read_graph", "read", {PRIV}, False, desc="Read the entire knowledge graph."),
    _t(
        "mcp",
        "search_nodes",
        "read",
        {PRIV},
        False,
        params=["query"],
        desc="Search for nodes in the knowledge graph based on a query.",
    ),
    # Time, Brave, Everything
    _t(
        "mcp",
        "get_current_time",
        "read",
        set(),
        False,
        params=["timezone"],
        desc="Get the current time in a specific timezone.",
    ),
    _t(
        "mcp",
        "convert_time",
        "read",
        set(),
        False,
        params=["source_timezone", "time", "target_timezone"],
        desc="Convert time between timezones.",
    ),
    _t(
        "mcp",
        "brave_web_search",
        "read",
        {UNTR},
        False,
        params=["query", "count"],
        desc="Performs a web search using the Brave Search API, ideal for general queries, news "
        "and articles.",
    ),
    _t("mcp", "add", "read", set(), False, params=["a", "b"], desc="Adds two numbers."),
    _t("mcp", "echo", "read", set(), False, params=["message"], desc="Echoes back the input."),
]

_DESCRIPTIONS = [
    _t(
        "description",
        "helper",
        "write",
        {CODE},
        True,
        desc="Executes the given shell command and returns its output.",
    ),
    _t(
        "description",
        "do_it",
        "write",
        {WEXT},
        True,
        desc="Sends an email to the given recipient.",
    ),
    _t(
        "description",
        "util",
        "write",
        {DEST},
        True,
        desc="Deletes the specified file from disk. This cannot be undone.",
    ),
    _t(
        "description",
        "assistant_tool",
        "read",
        {UNTR},
        False,
        desc="Searches the web and returns the top results.",
    ),
    _t(
        "description",
        "process",
        "write",
        {FIN},
        True,
        desc="Transfers money between two bank accounts.",
    ),
    _t("description", "manage", "admin", {ADMIN}, True, desc="Grants a role to a user."),
    _t(
        "description",
        "tool_a",
        "read",
        set(),
        False,
        desc="Returns the current weather for a city. Does not send any data anywhere.",
    ),
    _t(
        "description",
        "cleanup_helper",
        "read",
        {PRIV},
        False,
        desc="Lists temporary files. It does not delete anything.",
    ),
    _t(
        "description",
        "sync",
        "read",
        {PRIV},
        False,
        desc="Read-only: shows which records would be synchronised, without modifying anything.",
    ),
    _t(
        "description",
        "task_runner",
        "write",
        {CODE},
        True,
        desc="Runs arbitrary Python code in a sandbox.",
    ),
    _t(
        "description",
        "lookup",
        "read",
        {PRIV},
        False,
        params=["email"],
        desc="Looks up a customer by email address.",
    ),
    _t(
        "description",
        "query_runner",
        "write",
        {CODE, PRIV},
        True,
        params=["query"],
        desc="Executes arbitrary SQL statements against the production database.",
    ),
    _t(
        "description",
        "handle_request",
        "write",
        {WEXT},
        True,
        params=["payload"],
        desc="Forwards the request payload to the configured webhook URL.",
    ),
    _t("description", "data_tool", "read", {PRIV}, False, desc="Reads the contents of a file."),
    _t(
        "description",
        "assistant",
        "read",
        set(),
        False,
        desc="Answers questions about the product documentation.",
    ),
    _t(
        "description",
        "mailer_status",
        "read",
        set(),
        False,
        desc="Reports whether the mail server is reachable. It never sends email.",
    ),
    _t(
        "description",
        "ops_tool",
        "admin",
        {INFRA},
        True,
        desc="Deploys the given service to the production cluster.",
    ),
    _t(
        "description",
        "vault_helper",
        "read",
        {SECR},
        True,
        desc="Retrieves a secret value from HashiCorp Vault.",
    ),
    _t(
        "description",
        "admin_tool",
        "read",
        {PRIV},
        False,
        desc="Lists all users and their roles (read-only).",
    ),
    _t(
        "description",
        "translate",
        "read",
        set(),
        False,
        desc="Translates text between languages.",
    ),
]

_PARAMS = [
    _t("params", "outbound", "write", {WEXT}, True, params=["recipient", "subject", "body"]),
    _t("params", "act", "write", {CODE}, True, params=["command"]),
    _t(
        "params",
        "process_payment",
        "write",
        {FIN},
        True,
        params=["amount", "currency", "card_number"],
    ),
    _t("params", "helper2", "read", {UNTR}, False, params=["url"]),
    _t("params", "lookup_customer", "read", {PRIV}, False, params=["email"]),
    _t("params", "list_meetings", "read", {PRIV}, False, params=["from", "to"]),
    _t("params", "save", "write", {WINT}, False, params=["path", "content"]),
    _t("params", "remove", "write", {DEST}, True, params=["path"]),
    _t("params", "update_user_role", "admin", {ADMIN}, True, params=["user_id", "role"]),
    _t("params", "login", "read", set(), False, params=["username", "password"]),
    _t("params", "check_token_validity", "read", set(), False, params=["token"]),
    _t("params", "exchange_code_for_token", "read", {SECR}, True, params=["code"]),
    _t("params", "create_refund", "write", {FIN}, True, params=["charge_id", "amount"]),
    _t(
        "params",
        "transfer",
        "write",
        {FIN},
        True,
        params=["from_account", "to_account", "amount"],
    ),
    _t("params", "run_query", "write", {CODE, PRIV}, True, params=["query"]),
    _t("params", "execute", "write", {CODE}, True, params=["code"]),
    _t("params", "send_notification", "write", {WEXT}, True, params=["channel", "message"]),
    _t("params", "fetch_page", "read", {UNTR}, False, params=["url"]),
    _t("params", "get_forecast", "read", set(), False, params=["location", "days"]),
    _t(
        "params",
        "relay",
        "write",
        {WEXT},
        True,
        schema={
            "type": "object",
            "properties": {
                "target": {"type": "string", "format": "uri"},
                "payload": {"type": "object", "properties": {"text": {"type": "string"}}},
            },
        },
    ),
]

_ANNOTATIONS = [
    _t(
        "annotations",
        "manage_records",
        "read",
        {PRIV},
        False,
        ann=_RO,
        desc="Lists records matching a filter.",
    ),
    _t(
        "annotations",
        "apply_changes",
        "write",
        {WINT, DEST},
        True,
        ann={"readOnlyHint": False, "destructiveHint": True},
        desc="Applies a batch of changes.",
    ),
    _t(
        "annotations",
        "lookup_term",
        "read",
        {UNTR},
        False,
        ann={"readOnlyHint": True, "openWorldHint": True},
        desc="Looks up a term.",
    ),
    _t(
        "annotations",
        "publish",
        "write",
        {WEXT},
        True,
        ann={"readOnlyHint": False, "openWorldHint": True},
    ),
    _t(
        "annotations",
        "create_record",
        "write",
        {WEXT},
        True,
        ann={"readOnlyHint": False, "openWorldHint": True},
    ),
    _t(
        "annotations",
        "update_item",
        "write",
        {WINT},
        False,
        ann={"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False},
    ),
    _t("annotations", "delete_file", "write", {DEST}, True, ann=_RO, params=["path"]),
    _t("annotations", "get_item", "read", set(), False, ann={}),
    _t(
        "annotations",
        "search_knowledge",
        "read",
        set(),
        False,
        ann={"readOnlyHint": True, "openWorldHint": False},
    ),
    _t(
        "annotations",
        "navigate",
        "read",
        {UNTR},
        False,
        ann={"readOnlyHint": True, "openWorldHint": True},
        desc="Opens a web page in the browser.",
    ),
    _t("annotations", "run_command", "write", {CODE}, True, ann=_RO, params=["command"]),
    _t("annotations", "title_only", "read", set(), False, ann={"title": "Title only"}),
]

_SINKS = [
    _t("sinks", "helper_fn", "write", {CODE}, True, sinks=("subprocess.run",)),
    _t("sinks", "process_data", "write", {WINT}, False, sinks=("open:w",)),
    _t("sinks", "cleanup", "write", {DEST}, True, sinks=("shutil.rmtree",)),
    _t("sinks", "notify_ops", "write", {WEXT}, True, sinks=("requests.post",)),
    _t("sinks", "get_report", "read", {PRIV}, False, sinks=("cursor.execute",)),
    _t("sinks", "summarize", "read", {UNTR}, False, sinks=("httpx.get",)),
    _t("sinks", "do_task", "write", {CODE}, True, sinks=("os.system",)),
    _t("sinks", "alert", "write", {WEXT}, True, sinks=("smtplib.SMTP",)),
    _t(
        "sinks",
        "post_update",
        "write",
        {WEXT},
        True,
        sinks=("slack_sdk.WebClient.chat_postMessage",),
    ),
    _t("sinks", "calc", "write", {CODE}, True, sinks=("eval",)),
    _t("sinks", "provision", "admin", {INFRA}, True, sinks=("boto3.client",)),
    _t("sinks", "helper_x", "write", {DEST}, True, sinks=("os.remove",)),
    _t("sinks", "get_weather_live", "read", {UNTR}, False, sinks=("requests.get",)),
    _t("sinks", "get_page", "read", {UNTR}, False, sinks=("self.session.urlopen",)),
]

# Written after the classifier above was frozen; first measured unchanged (see bench/README.md).
_H = "holdout"
_HOLDOUT = [
    _t("innocent", "send_message", "write", {WEXT}, True, params=["chat_id", "text"], split=_H),
    _t("read", "list_transactions", "read", {PRIV}, False, split=_H),
    _t("write", "create_customer", "write", {WINT}, False, split=_H),
    _t("innocent", "stripe_create_payment_intent", "write", {FIN}, True, split=_H),
    _t("read", "get_invoice_pdf", "read", {PRIV}, False, split=_H),
    _t("innocent", "kubectl_delete_pod", "admin", {INFRA, DEST}, True, split=_H),
    _t("innocent", "scale_deployment", "admin", {INFRA}, True, split=_H),
    _t("read", "get_pod_logs", "read", {PRIV}, False, split=_H),
    _t("read", "list_s3_buckets", "read", set(), False, split=_H),
    _t("write", "put_s3_object", "write", {WINT}, False, split=_H),
    _t("write", "create_jira_issue", "write", {WINT}, False, split=_H),
    _t(
        "params",
        "send_email",
        "write",
        {WEXT},
        True,
        params=["to", "subject", "body"],
        split=_H,
    ),
    _t("read", "gmail_search_messages", "read", {PRIV, UNTR}, False, split=_H),
    _t("innocent", "gmail_send", "write", {WEXT}, True, split=_H),
    _t("write", "calendar_create_event", "write", {WINT}, False, split=_H),
    _t("innocent", "drive_upload_file", "write", {WEXT}, True, split=_H),
    _t("innocent", "python_repl_ast", "write", {CODE}, True, params=["query"], split=_H),
    _t(
        "innocent",
        "terminal",
        "write",
        {CODE},
        True,
        params=["commands"],
        desc="Run shell commands on this machine.",
        split=_H,
    ),
    _t("innocent", "requests_post", "write", {WEXT}, True, params=["url", "data"], split=_H),
    _t("read", "requests_get", "read", {UNTR}, False, params=["url"], split=_H),
    _t("read", "duckduckgo_search", "read", {UNTR}, False, params=["query"], split=_H),
    _t(
        "read",
        "arxiv",
        "read",
        {UNTR},
        False,
        params=["query"],
        desc="A wrapper around Arxiv.org for searching scientific papers.",
        split=_H,
    ),
    _t(
        "description",
        "sql_db_query",
        "write",
        {CODE, PRIV},
        True,
        params=["query"],
        desc="Execute a SQL query against the database and get back the result.",
        split=_H,
    ),
    _t(
        "description",
        "sql_db_list_tables",
        "read",
        set(),
        False,
        desc="Input is an empty string, output is a comma-separated list of tables in the "
        "database.",
        split=_H,
    ),
    _t("innocent", "file_delete", "write", {DEST}, True, params=["file_path"], split=_H),
    _t(
        "description",
        "file_search",
        "read",
        {PRIV},
        False,
        params=["dir_path", "pattern"],
        desc="Recursively search for files in a subdirectory that match the regex pattern.",
        split=_H,
    ),
    _t(
        "description",
        "human",
        "read",
        set(),
        False,
        desc="You can ask a human for guidance when you think you got stuck.",
        split=_H,
    ),
    _t(
        "description",
        "create_user",
        "admin",
        {ADMIN},
        True,
        desc="Creates a new user account in Okta and activates it.",
        split=_H,
    ),
    _t("innocent", "reset_user_password", "admin", {ADMIN}, True, split=_H),
    _t("innocent", "rotate_api_key", "write", {SECR, WINT}, True, split=_H),
    _t("innocent", "list_secrets", "read", {SECR}, True, split=_H),
    _t("innocent", "approve_expense", "write", {FIN}, True, split=_H),
    _t("read", "export_customer_data", "read", {PRIV}, False, split=_H),
    _t("innocent", "bulk_delete_records", "write", {DEST}, True, split=_H),
    _t("write", "archive_channel", "write", {WINT}, False, split=_H),
    _t("innocent", "kick_user_from_channel", "admin", {ADMIN}, True, split=_H),
    _t("read", "open_url", "read", {UNTR}, False, params=["url"], split=_H),
    _t("innocent", "git_push", "write", {WEXT}, True, split=_H),
    _t("innocent", "get_secret_value", "read", {SECR}, True, split=_H),
    _t("read", "describe_instances", "read", set(), False, split=_H),
    _t("innocent", "stop_instance", "admin", {INFRA}, True, split=_H),
    _t("innocent", "delete_snapshot", "write", {DEST}, True, split=_H),
    _t("innocent", "update_security_group", "admin", {INFRA}, True, split=_H),
    _t("innocent", "attach_role_policy", "admin", {ADMIN}, True, split=_H),
    _t(
        "description",
        "tavily_search",
        "read",
        {UNTR},
        False,
        params=["query"],
        desc="A search engine optimized for comprehensive, accurate results. Useful for "
        "answering questions about current events.",
        split=_H,
    ),
    _t("read", "get_youtube_comments", "read", {UNTR}, False, split=_H),
    _t("read", "summarize_document", "read", {PRIV}, False, params=["document_id"], split=_H),
    _t("innocent", "send_fax", "write", {WEXT}, True, split=_H),
    _t("innocent", "schedule_tweet", "write", {WEXT}, True, split=_H),
    _t("innocent", "delete_tweet", "write", {DEST}, True, split=_H),
    _t("innocent", "crypto_swap", "write", {FIN}, True, split=_H),
    _t("read", "get_wallet_balance", "read", {PRIV}, False, split=_H),
    _t("innocent", "sign_transaction", "write", {FIN}, True, split=_H),
    _t("innocent", "shell_exec", "write", {CODE}, True, params=["cmd"], split=_H),
    _t("innocent", "get_env_var", "read", {SECR}, True, params=["name"], split=_H),
    _t("innocent", "set_env_var", "write", {SECR, WINT}, True, params=["name", "value"], split=_H),
    _t("lookalike", "print_working_directory", "read", set(), False, split=_H),
    _t("lookalike", "list_processes", "read", set(), False, split=_H),
    _t("lookalike", "killer_sudoku_solver", "read", set(), False, split=_H),
    _t("lookalike", "evaluate_answer_quality", "read", set(), False, split=_H),
    _t("lookalike", "format_sql_query", "read", set(), False, params=["sql"], split=_H),
    _t("lookalike", "get_drop_off_locations", "read", set(), False, split=_H),
    _t("lookalike", "run_length_encode", "read", set(), False, params=["text"], split=_H),
]

CORPUS: tuple[LabelledTool, ...] = tuple(
    _LOOKALIKES
    + _INNOCENT
    + _READS
    + _WRITES
    + _MCP
    + _DESCRIPTIONS
    + _PARAMS
    + _ANNOTATIONS
    + _SINKS
    + _HOLDOUT
)


# --- Metrics shared by tests/posture/test_classifier.py and bench/classifier/run.py ---------------


@dataclass(frozen=True)
class Counts:
    """Confusion counts of one binary label."""

    tp: int
    fp: int
    fn: int

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def counts(expected: Sequence[bool], predicted: Sequence[bool]) -> Counts:
    """Confusion counts of parallel expected / predicted flags."""
    pairs = list(zip(expected, predicted, strict=True))
    return Counts(
        tp=sum(1 for e, p in pairs if e and p),
        fp=sum(1 for e, p in pairs if p and not e),
        fn=sum(1 for e, p in pairs if e and not p),
    )


def capability_counts(
    entries: Sequence[LabelledTool], predicted: Sequence[frozenset[str]]
) -> dict[str, Counts]:
    """Per-capability confusion counts of predicted capability sets against the labels."""
    names = (PRIV, UNTR, WEXT, WINT, DEST, CODE, SECR, ADMIN, INFRA, FIN)
    return {
        cap: counts([cap in e.capabilities for e in entries], [cap in p for p in predicted])
        for cap in names
    }
