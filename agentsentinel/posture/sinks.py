"""Sinks found in a tool's function body (by ``sentinel scan``) and the capabilities they prove.

Key contracts:
- A sink is the dotted name of a call as written in the source (``subprocess.run``,
  ``self.client.chat_postMessage``) or ``open:<mode>`` for the builtin ``open`` (``open:w``,
  ``open:rb``). Matching is case-insensitive: exact name first, then the last two and the last
  component against ``SINK_SUFFIXES`` (only method names that are unambiguous on their own), then
  HTTP client modules by method.
- ``boto3.client:<service>`` names the AWS service when the scanner can see it.
- Unknown sinks prove nothing and are ignored; this table is the single place to add one.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from agentsentinel.posture.capabilities import ToolCapability

_CODE = (ToolCapability.code_execution,)
_WRITE = (ToolCapability.writes_internal,)
_DESTROY = (ToolCapability.destructive,)
_READ_FILE = (ToolCapability.reads_private_data,)
_SEND = (ToolCapability.writes_external,)
_FETCH = (ToolCapability.reads_untrusted_content,)
_DB = (ToolCapability.reads_private_data,)
_SECRET = (ToolCapability.secrets_access,)
_INFRA = (ToolCapability.infrastructure,)
_MONEY = (ToolCapability.financial,)
_MAIL_READ = (ToolCapability.reads_private_data, ToolCapability.reads_untrusted_content)

SINK_WEIGHT: Final = 0.95
# A generic cloud SDK client proves control-plane access, not which change it makes.
GENERIC_CLOUD_WEIGHT: Final = 0.6


class SinkRule(NamedTuple):
    """Capabilities proven by a sink and how strongly."""

    capabilities: tuple[ToolCapability, ...]
    weight: float


def _rules(names: str, capabilities: tuple[ToolCapability, ...]) -> dict[str, SinkRule]:
    return {name: SinkRule(capabilities, SINK_WEIGHT) for name in names.split()}


SINKS: Final[dict[str, SinkRule]] = {
    **_rules(
        "subprocess.run subprocess.call subprocess.popen subprocess.check_output "
        "subprocess.check_call subprocess.getoutput subprocess.getstatusoutput os.system os.popen "
        "os.execv os.execve os.execl os.execle os.execlp os.execvp os.execvpe os.spawnl os.spawnv "
        "os.spawnlp os.spawnvp os.posix_spawn os.posix_spawnp pty.spawn "
        "asyncio.create_subprocess_exec asyncio.create_subprocess_shell eval exec builtins.eval "
        "builtins.exec runpy.run_path runpy.run_module code.interact pexpect.spawn pexpect.run "
        "paramiko.sshclient.exec_command fabric.connection.run sh.command",
        _CODE,
    ),
    **_rules(
        "pathlib.path.write_text pathlib.path.write_bytes path.write_text path.write_bytes "
        "os.rename os.replace shutil.copy shutil.copyfile shutil.copy2 shutil.copytree "
        "shutil.move os.makedirs os.mkdir pathlib.path.mkdir path.mkdir pathlib.path.touch",
        _WRITE,
    ),
    **_rules(
        "shutil.rmtree os.remove os.unlink os.rmdir os.removedirs os.truncate pathlib.path.unlink "
        "pathlib.path.rmdir path.unlink path.rmdir send2trash.send2trash",
        _DESTROY,
    ),
    **_rules(
        "pathlib.path.read_text pathlib.path.read_bytes path.read_text path.read_bytes "
        "os.listdir os.scandir os.walk glob.glob pathlib.path.glob pathlib.path.iterdir",
        _READ_FILE,
    ),
    **_rules(
        "smtplib.smtp smtplib.smtp_ssl smtplib.smtp.sendmail smtplib.smtp.send_message "
        "slack_sdk.webclient.chat_postmessage slack_sdk.webclient.files_upload "
        "slack_sdk.webclient.files_upload_v2 slack_sdk.webhook.webhookclient.send "
        "slack_sdk.webhookclient.send twilio.rest.client.messages.create "
        "sendgrid.sendgridapiclient.send ftplib.ftp.storbinary paramiko.sftpclient.put "
        "discord_webhook.discordwebhook.execute telegram.bot.send_message",
        _SEND,
    ),
    **_rules(
        "urllib.request.urlopen urllib.request.urlretrieve feedparser.parse "
        "playwright.page.goto selenium.webdriver.get",
        _FETCH,
    ),
    **_rules("imaplib.imap4 imaplib.imap4_ssl poplib.pop3 poplib.pop3_ssl", _MAIL_READ),
    **_rules(
        "cursor.execute cursor.executemany sqlite3.connect psycopg.connect psycopg2.connect "
        "asyncpg.connect pymysql.connect mysql.connector.connect sqlalchemy.create_engine "
        "session.execute connection.execute pymongo.mongoclient redis.redis",
        _DB,
    ),
    **_rules(
        "keyring.get_password hvac.client boto3.client:secretsmanager boto3.client:ssm "
        "boto3.client:kms",
        _SECRET,
    ),
    **_rules(
        "boto3.client:ec2 boto3.client:ecs boto3.client:eks boto3.client:lambda "
        "boto3.client:cloudformation boto3.client:autoscaling boto3.client:route53 "
        "boto3.client:elbv2 kubernetes.client kubernetes.config.load_kube_config docker.from_env "
        "docker.dockerclient",
        _INFRA,
    ),
    "boto3.client:iam": SinkRule((ToolCapability.privilege_admin,), SINK_WEIGHT),
    "boto3.client:s3": SinkRule(
        (ToolCapability.reads_private_data, ToolCapability.writes_internal), GENERIC_CLOUD_WEIGHT
    ),
    "boto3.client": SinkRule(_INFRA, GENERIC_CLOUD_WEIGHT),
    "boto3.resource": SinkRule(_INFRA, GENERIC_CLOUD_WEIGHT),
    **_rules(
        "stripe.charge.create stripe.paymentintent.create stripe.paymentintent.confirm "
        "stripe.refund.create stripe.transfer.create stripe.payout.create stripe.invoice.pay",
        _MONEY,
    ),
}

# Method names (last one or two components) that identify a sink wherever the object came from.
SINK_SUFFIXES: Final[dict[str, SinkRule]] = {
    **_rules(
        "check_output check_call popen create_subprocess_exec create_subprocess_shell exec_command",
        _CODE,
    ),
    **_rules("write_text write_bytes", _WRITE),
    **_rules("rmtree unlink rmdir removedirs", _DESTROY),
    **_rules("read_text read_bytes", _READ_FILE),
    **_rules("chat_postmessage sendmail send_message files_upload storbinary", _SEND),
    **_rules("urlopen urlretrieve", _FETCH),
    **_rules("cursor.execute cursor.executemany executemany", _DB),
}

_HTTP_MODULES: Final = frozenset({"requests", "httpx", "aiohttp", "urllib3"})
_HTTP_SENDING_METHODS: Final = frozenset({"post", "put", "patch", "delete", "request", "stream"})
_HTTP_READING_METHODS: Final = frozenset({"get", "head", "options"})
_WRITE_MODE_LETTERS: Final = frozenset("wax+")


def sink_rule(sink: str) -> SinkRule | None:
    """The capabilities a sink proves, or None for an unknown sink."""
    name = sink.strip().lower()
    if not name:
        return None
    if name == "open" or name.startswith("open:"):
        mode = name.partition(":")[2] or "r"
        if not _WRITE_MODE_LETTERS.isdisjoint(mode):
            return SinkRule(_WRITE, SINK_WEIGHT)
        return SinkRule(_READ_FILE, SINK_WEIGHT)
    rule = SINKS.get(name)
    if rule is not None:
        return rule
    base = name.partition(":")[0]
    if base != name and (rule := SINKS.get(base)) is not None:
        return rule
    parts = base.split(".")
    for size in (2, 1):
        if len(parts) >= size and (rule := SINK_SUFFIXES.get(".".join(parts[-size:]))):
            return rule
    if len(parts) >= 2 and parts[0] in _HTTP_MODULES:
        if parts[-1] in _HTTP_SENDING_METHODS:
            return SinkRule(_SEND, SINK_WEIGHT)
        if parts[-1] in _HTTP_READING_METHODS:
            return SinkRule(_FETCH, SINK_WEIGHT)
    return None
