"""The classifier's vocabulary as data: verbs, objects, phrases, parameter roles and weights.

Key contracts:
- Everything here is matched against whole lemmatised tokens (``users`` -> ``user``, ``deletes`` ->
  ``delete``), never against substrings, so ``executive`` is not ``exec`` and ``skills`` is not
  ``kill``.
- Words are listed in their base form; ``LEMMAS`` (built once at import) maps regular inflections
  and the irregular forms in ``IRREGULAR_FORMS`` back to them. Words of two letters or fewer are not
  inflected (``rms`` must not become ``rm``).
- To extend the vocabulary add a word to the right table; ``AGENTS.md`` explains each table. A new
  word must be added with a labelled corpus entry in ``tests/posture/corpus.py`` that needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Final


class Action(StrEnum):
    """What a verb does to its object, before the object is known."""

    read = "read"  # returns data: get, list, search, show
    fetch = "fetch"  # pulls content from a location: fetch, browse, download, scrape
    transform = "transform"  # pure computation on its inputs: format, convert, count
    write = "write"  # changes state in place: create, update, save, move
    send = "send"  # pushes data to someone or somewhere else: send, post, upload, notify
    delete = "delete"  # removes data: delete, purge, drop, wipe, rm
    execute = "execute"  # runs something: run, exec, eval
    pay = "pay"  # moves money: pay, refund, charge, transfer, buy
    grant = "grant"  # changes privileges: grant, revoke, promote, impersonate
    access = "access"  # switches identities or resources on/off: disable, suspend, ban, lock
    operate = "operate"  # changes running infrastructure: deploy, scale, migrate, restart
    meta = "meta"  # descriptions only: "use", "call", "allows" say nothing about the tool's effect


class Tag(StrEnum):
    """What kind of thing an object word names."""

    private = "private"  # organisational or personal records
    file = "file"  # files and folders on a file system or drive
    untrusted = "untrusted"  # content authored outside the organisation (web, inbound mail)
    channel = "channel"  # a communication medium (email, chat, SMS, webhook)
    external = "external"  # a third-party service or the open internet as a destination
    secret = "secret"  # noqa: S105 - credentials and secret material
    weak_secret = "weak_secret"  # noqa: S105 - "token": a credential only when read or issued
    money = "money"  # funds, payments, orders
    privilege = "privilege"  # roles, permissions, admin rights
    identity = "identity"  # users, accounts, groups (scope admin when destroyed)
    infra = "infra"  # running infrastructure
    storage = "storage"  # disks and devices (``format_disk``)
    text = "text"  # pieces of text a pure transform works on (whitespace, dates, json)
    file_format = "file_format"  # a file format: text to a transform, a file to a write
    code = "code"  # code, scripts, commands
    interpreter = "interpreter"  # a shell or language runtime (a tool named ``bash``)
    sql = "sql"  # SQL itself
    query = "query"  # a query: code only when executed
    meta = "meta"  # information about something, not its content (status, count, docs)
    passthrough = "passthrough"  # a container noun that carries its modifier (history, details)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _invert(table: Mapping[Action, frozenset[str]]) -> dict[str, Action]:
    inverted: dict[str, Action] = {}
    for action, words in table.items():
        for word in words:
            if word in inverted:
                raise ValueError(f"verb {word!r} listed under two actions")
            inverted[word] = action
    return inverted


def _tags(table: Mapping[Tag, frozenset[str]]) -> dict[str, frozenset[Tag]]:
    inverted: dict[str, set[Tag]] = {}
    for tag, words in table.items():
        for word in words:
            inverted.setdefault(word, set()).add(tag)
    return {word: frozenset(tags) for word, tags in inverted.items()}


# --- Verbs -------------------------------------------------------------------------------------

VERBS_BY_ACTION: Final[dict[Action, frozenset[str]]] = {
    Action.read: _words(
        "get read list show view describe retrieve load lookup find search query inspect peek "
        "tail grep dump print export check monitor poll watch track analyze analyse summarize "
        "summarise return see locate resolve ping audit scan open decrypt recall"
    ),
    Action.fetch: _words("fetch download browse crawl scrape navigate visit curl wget clone pull"),
    Action.transform: _words(
        "format convert parse calculate compute translate tokenize tokenise encode decode "
        "validate verify normalize normalise render estimate sort filter compare diff hash "
        "explain plan simulate preview count measure echo extract classify detect match rank "
        "score lint sanitize sanitise escape strip trim slugify capitalize lowercase uppercase "
        "highlight generate suggest recommend answer predict paraphrase spellcheck proofread "
        "solve process swap sign transcribe infer embed chunk split join think reason ask wait "
        "sleep round transpose shorten expand resize crop compress greet"
    ),
    Action.write: _words(
        "write create update edit modify set save put add insert append patch upsert store "
        "rename move copy mkdir touch replace change commit tag label assign mark close reopen "
        "merge archive restore import sync schedule book reserve register submit apply approve "
        "reject comment log record make build configure toggle upgrade fork attach pin star "
        "bookmark checkout init initialize place reset rewrite cancel subscribe unsubscribe "
        "enqueue complete finish fill draft compose annotate rate flag snooze start stop pause "
        "resume launch trigger rotate renew backup issue enroll transition cp mv void finalize "
        "install follow unfollow like unlike"
    ),
    Action.send: _words(
        "send email mail post publish tweet notify dispatch forward reply share broadcast message "
        "sms text invite page upload push announce transmit deliver relay alert exfiltrate dm "
        "contact"
    ),
    Action.delete: _words(
        "delete remove drop purge destroy erase wipe truncate rm rmdir unlink kill terminate "
        "shred clear flush evict prune nuke discard expunge uninstall overwrite obliterate clean "
        "cleanup del deregister unregister flushall flushdb"
    ),
    Action.execute: _words("run exec execute eval evaluate interpret spawn"),
    Action.pay: _words(
        "pay refund charge transfer wire withdraw deposit purchase buy sell trade invest remit "
        "payout reimburse bill invoice donate spend credit debit order"
    ),
    Action.grant: _words(
        "grant revoke promote demote elevate escalate impersonate sudo delegate authorize"
    ),
    Action.access: _words(
        "disable enable suspend ban unban lock unlock deactivate reactivate activate block "
        "unblock kick"
    ),
    Action.operate: _words(
        "deploy redeploy undeploy provision deprovision reprovision scale autoscale upscale "
        "downscale migrate rollback restart reboot shutdown teardown decommission failover "
        "spinup rollout cordon drain"
    ),
    # Only consulted in descriptions: the verb of "use this tool to ..." is not the tool's effect.
    Action.meta: _words(
        "use call invoke allow let help provide need want try ensure accept require support work "
        "handle perform take give contain include consider mean refer receive expect be have do"
    ),
}

VERB_ACTIONS: Final[dict[str, Action]] = _invert(VERBS_BY_ACTION)

# Verbs that are just as often nouns. In a name they act as the verb only when an object follows
# that is not a report noun (``charge_card`` vs ``charge_level``, ``run_python`` vs
# ``run_history``); in a description only at the start of a sentence or after "to" / a modal.
NOUN_LIKE_VERBS: Final[frozenset[str]] = _words(
    "email mail post tweet message sms text page alert query log record tag label book comment "
    "flag draft issue refund charge transfer trade payout bill invoice credit debit order grant "
    "run exec eval contact dm schedule plan estimate count filter match score hash format "
    "process change export import upload download backup star pin deploy search print dump "
    "track answer"
)

# Verbs that only take effect on a code object (``run_report`` and ``evaluate_sentiment`` execute
# nothing); a name made of the verb alone (``run``, ``exec``) still counts as code execution.
CODE_EXECUTION_VERBS_ALONE: Final[frozenset[str]] = _words("run exec execute eval spawn")

# Write verbs that create a financial obligation when their object is money (``place_order``,
# ``create_payment``, ``add_funds``) - ``update_order`` or ``tag_invoice`` do not move money.
MONEY_CREATING_VERBS: Final[frozenset[str]] = _words(
    "create place make submit issue initiate approve add book schedule send process authorize "
    "finalize"
)

# Verbs that run whatever they are given, whatever its kind (``kubectl_exec``, ``docker_exec``).
ALWAYS_CODE_VERBS: Final[frozenset[str]] = _words("exec")

# Write verbs that bring a new identity into existence: an account someone can log in with is a
# privilege change (``create_user`` in an identity provider), editing one is not.
IDENTITY_CREATING_VERBS: Final[frozenset[str]] = _words("create add register enroll provision")

# Interpreter nouns that make a verbless name an interpreter wherever they stand
# (``python_repl_ast``); ``shell`` or ``python`` only do so as the head (``shell_color_theme``).
INTERPRETER_NOUNS: Final[frozenset[str]] = _words("repl interpreter")

# Operate verbs that also destroy what they operate on.
DESTRUCTIVE_OPERATIONS: Final[frozenset[str]] = _words("teardown decommission deprovision undeploy")

# Agent nouns at the end of a verbless name act as its verb (``email_sender``, ``code_runner``).
AGENT_NOUNS: Final[dict[str, str]] = {
    "sender": "send",
    "mailer": "send",
    "notifier": "notify",
    "publisher": "publish",
    "poster": "post",
    "uploader": "upload",
    "dispatcher": "dispatch",
    "runner": "run",
    "executor": "execute",
    "executer": "execute",
    "evaluator": "evaluate",
    "deleter": "delete",
    "remover": "remove",
    "cleaner": "clean",
    "purger": "purge",
    "wiper": "wipe",
    "killer": "kill",
    "reader": "read",
    "viewer": "view",
    "fetcher": "fetch",
    "downloader": "download",
    "scraper": "scrape",
    "crawler": "crawl",
    "searcher": "search",
    "finder": "find",
    "loader": "load",
    "writer": "write",
    "editor": "edit",
    "updater": "update",
    "creator": "create",
    "deployer": "deploy",
    "provisioner": "provision",
    "scaler": "scale",
    "migrator": "migrate",
    "formatter": "format",
    "converter": "convert",
    "calculator": "calculate",
    "translator": "translate",
    "validator": "validate",
    "counter": "count",
    "matcher": "match",
    "detector": "detect",
    "parser": "parse",
    "tokenizer": "tokenize",
    "linter": "lint",
    "checker": "check",
    "analyzer": "analyze",
    "analyser": "analyze",
    "summarizer": "summarize",
    "generator": "generate",
    "processor": "process",
    "monitor": "monitor",
    "tracker": "track",
    "exporter": "export",
    "importer": "import",
    "scheduler": "schedule",
    "forwarder": "forward",
    "broadcaster": "broadcast",
}

# Action nouns ending a verbless name act as its verb (``fund_transfer``, ``code_execution``).
# ``execution`` elsewhere in a name is only a modifier: ``execution_history`` reads history.
NOMINALS: Final[dict[str, str]] = {
    "deletion": "delete",
    "removal": "remove",
    "execution": "execute",
    "evaluation": "evaluate",
    "transfer": "transfer",
    "migration": "migrate",
    "upload": "upload",
    "download": "download",
    "refund": "refund",
    "purchase": "purchase",
    "withdrawal": "withdraw",
    "shutdown": "shutdown",
    "reboot": "reboot",
    "rollback": "rollback",
    "payout": "payout",
    "payment": "pay",
    "notification": "notify",
    "invitation": "invite",
    "translation": "translate",
    "conversion": "convert",
    "calculation": "calculate",
    "validation": "validate",
    "search": "search",
    "lookup": "lookup",
}

# A leading predicate word makes the name a yes/no check: ``can_delete_file`` deletes nothing.
PREDICATE_PREFIXES: Final[frozenset[str]] = _words(
    "is are has have can could should must needs need does did was were will would"
)

# --- Objects -----------------------------------------------------------------------------------

OBJECTS_BY_TAG: Final[dict[Tag, frozenset[str]]] = {
    Tag.private: _words(
        "customer user employee patient medical record database db table row crm contact profile "
        "person people account inbox email mail message chat conversation calendar meeting "
        "appointment event note memory knowledgegraph ticket salary payroll ssn pii log lead deal "
        "salesforce hubspot zendesk intercom mongo mongodb postgres postgresql mysql dynamodb "
        "bigquery snowflake elasticsearch "
        "prescription diagnosis address phone sender attachment member student order "
        "dm timesheet paystub payslip journal diary"
    ),
    Tag.file: _words(
        "file directory folder dir path filename filepath document blob image photo picture "
        "media pdf spreadsheet dropbox drive backup workspace filesystem"
    ),
    Tag.untrusted: _words(
        "url uri link web webpage page website site internet online feed rss news headline tweet "
        "reddit forum wikipedia youtube article comment email inbox message chat attachment "
        "browser google bing duckduckgo brave http https serp hackernews arxiv pubmed "
        "stackoverflow searchengine tavily serpapi serper perplexity searx searxng exa"
    ),
    Tag.channel: _words(
        "email mail sms message slack discord telegram whatsapp webhook tweet twitter "
        "notification newsletter fax chat channel dm alert oncall pager"
    ),
    Tag.external: _words(
        "github gitlab bitbucket twitter reddit slack discord telegram linkedin facebook "
        "instagram youtube internet web public external pastebin gist arxiv stackoverflow"
    ),
    Tag.secret: _words(
        "secret password passwd credential apikey sshkey privatekey secretkey accesskey "
        "signingkey encryptionkey accesstoken authtoken bearertoken refreshtoken sessiontoken "
        "oauthtoken apitoken vault keychain keyring passphrase envvar env dotenv seedphrase "
        "mnemonic cookie keystore"
    ),
    Tag.weak_secret: _words("token"),
    Tag.money: _words(
        "fund money payment invoice refund card creditcard charge transfer wire payout iban bank "
        "bankaccount transaction balance wallet crypto bitcoin loan credit debit order bill "
        "purchase cash expense reimbursement"
    ),
    Tag.privilege: _words(
        "role permission admin administrator privilege acl access owner ownership sudo superuser "
        "sudoer iam grant entitlement membership collaborator rbac right"
    ),
    Tag.identity: _words(
        "user account member group org organization organisation tenant identity principal "
        "serviceaccount"
    ),
    Tag.infra: _words(
        "server instance cluster node pod deployment service container vm virtualmachine "
        "migration terraform kubernetes k8s kubectl helm dns firewall port loadbalancer "
        "securitygroup infrastructure infra stack ec2 vpc subnet network replica release "
        "environment host machine droplet gateway ingress cdn region cloudformation ansible "
        "daemonset statefulset namespace autoscaler vpn"
    ),
    Tag.storage: _words("disk drive volume partition device filesystem harddrive ssd usb"),
    Tag.text: _words(
        "whitespace text string punctuation markdown html json xml yaml csv date time timestamp "
        "number digit unit case emoji accent diacritic space newline line char character word "
        "sentence paragraph color colour css style font regex unicode encoding base64 hex slug "
        "stopword quote typo spelling grammar sentiment tone language syntax markup phrase title"
    ),
    # File formats: pure text to a transform, a file to a write (``write_csv``).
    Tag.file_format: _words("markdown html json xml yaml csv tsv pdf docx xlsx"),
    Tag.code: _words(
        "code script command cmd snippet program expression notebook cell subprocess process "
        "binary executable javascript js python py macro applescript vbscript package dependency"
    ),
    Tag.interpreter: _words(
        "bash sh zsh shell powershell pwsh python repl terminal console interpreter jupyter "
        "ipython ruby perl javascript js sandbox deno docker container"
    ),
    Tag.sql: _words("sql psql sqlcmd"),
    Tag.query: _words("query"),
    Tag.meta: _words(
        "status health count stat statistic metric version usage quota limit size strength "
        "complexity length theme format schema type template help option preview state progress "
        "availability level score estimate policy guide doc docs documentation faq tip hint "
        "example sample spec specs price cost rate config configuration setting timeout duration "
        "latency uptime trivia fact idea suggestion id hour lecture shortcut palette meter "
        "validity updatecheck killswitch dropdown dropshadow postcode runtime killchain "
        "transferlearning secretsanta triggerwarning dropoff cwd postoffice definition "
        "eligibility requirement instruction manual readme tutorial changelog"
    ),
    Tag.passthrough: _words(
        "history info information detail summary list data content value item entry result "
        "report overview metadata snapshot export dump listing output body contents"
    ),
}

OBJECT_TAGS: Final[dict[str, frozenset[Tag]]] = _tags(OBJECTS_BY_TAG)

# Tokens that name the tool itself, not what it acts on; dropped unless nothing else is left.
GENERIC_NAME_TOKENS: Final[frozenset[str]] = _words(
    "tool tools fn func function handler helper util utils plugin action api mcp v ex do it my "
    "the a an"
)

# Words that never carry meaning as objects (articles, prepositions, pronouns, fillers).
STOPWORDS: Final[frozenset[str]] = _words(
    "a an the this that these those it its their his her your our my me you we they them all any "
    "some each every one two three multiple many new existing given specified specific current "
    "provided single optional of to from by for in into onto on at with within via as and or but "
    "then also only just not be is are was were been being will can may might must should would "
    "could do does did if when while whether so such than there here which who whom whose what "
    "where how why about over under between against through using based please like same other "
    "more most less least very really recent latest selected target desired up out off"
)

# Prepositions after which description words say where the effect goes or comes from.
DESTINATION_PREPOSITIONS: Final[frozenset[str]] = _words("to into onto in on via at")
SOURCE_PREPOSITIONS: Final[frozenset[str]] = _words("from in on within at via to")
NOUN_PHRASE_CONTINUATIONS: Final[frozenset[str]] = _words("of about for up out")
CLAUSE_STARTERS: Final[frozenset[str]] = _words(
    "and or but then that which who when if so because before after while whether unless until "
    "where"
)
PREPOSITIONS: Final[frozenset[str]] = _words(
    "to into onto in on via at from within by with as between against through using across over "
    "under without"
)

# Words that negate the next verb in a description ("does not delete", "without modifying").
NEGATORS: Final[frozenset[str]] = _words(
    "not never no without cannot doesn don didn isn aren won wouldn shouldn t nor neither"
)

# Words before a verb-looking token that make it a participle or a noun ("the deleted files").
DETERMINERS: Final[frozenset[str]] = _words(
    "the a an all any its their his her your our my each every this these those recently "
    "currently previously already existing some no"
)

# Words before a noun-like verb in a description that make it a verb ("to post", "will email").
VERB_INTRODUCERS: Final[frozenset[str]] = _words(
    "to will can may must should please and then also or that which"
)

# --- Phrases -----------------------------------------------------------------------------------

# Multi-token phrases merged into one lemma before roles are assigned. Keys are lemma sequences.
PHRASES: Final[dict[tuple[str, ...], str]] = {
    # idioms that contain a scary verb but name something harmless
    ("post", "code"): "postcode",
    ("zip", "code"): "postcode",
    ("drop", "shadow"): "dropshadow",
    ("drop", "down"): "dropdown",
    ("kill", "switch"): "killswitch",
    ("kill", "chain"): "killchain",
    ("update", "check"): "updatecheck",
    ("run", "time"): "runtime",
    ("transfer", "learn"): "transferlearning",
    ("transfer", "learning"): "transferlearning",
    ("secret", "santa"): "secretsanta",
    ("trigger", "warning"): "triggerwarning",
    ("drop", "off"): "dropoff",
    ("working", "directory"): "cwd",
    ("search", "engine"): "searchengine",
    ("text", "to", "speech"): "transcribe",
    ("speech", "to", "text"): "transcribe",
    ("requests", "post"): "post",
    ("requests", "put"): "post",
    ("httpx", "post"): "post",
    ("requests", "get"): "fetch",
    ("httpx", "get"): "fetch",
    ("post", "office"): "postoffice",
    ("pay", "slip"): "payslip",
    ("pay", "stub"): "paystub",
    ("change", "log"): "changelog",
    ("dry", "run"): "dryrun",
    ("pull", "request"): "pullrequest",
    ("knowledge", "graph"): "knowledgegraph",
    ("knowledge", "base"): "knowledgebase",
    ("log", "in"): "login",
    ("log", "out"): "logout",
    ("sign", "in"): "login",
    ("make", "sure"): "ensure",
    ("e", "mail"): "email",
    ("web", "hook"): "webhook",
    ("web", "page"): "webpage",
    ("data", "base"): "database",
    ("file", "name"): "filename",
    ("file", "path"): "filepath",
    ("file", "system"): "filesystem",
    ("hard", "drive"): "harddrive",
    ("load", "balancer"): "loadbalancer",
    ("security", "group"): "securitygroup",
    ("service", "account"): "serviceaccount",
    ("virtual", "machine"): "virtualmachine",
    ("k", "8", "s"): "k8s",
    ("ec", "2"): "ec2",
    ("s", "3"): "s3",
    ("base", "64"): "base64",
    # phrasal verbs
    ("look", "up"): "lookup",
    ("clean", "up"): "cleanup",
    ("spin", "up"): "spinup",
    ("tear", "down"): "teardown",
    ("shut", "down"): "shutdown",
    ("roll", "back"): "rollback",
    ("roll", "out"): "rollout",
    ("check", "out"): "checkout",
    ("sign", "up"): "register",
    ("http", "post"): "post",
    ("http", "get"): "fetch",
    ("http", "request"): "fetch",
    # secrets
    ("api", "key"): "apikey",
    ("ssh", "key"): "sshkey",
    ("private", "key"): "privatekey",
    ("secret", "key"): "secretkey",
    ("access", "key"): "accesskey",
    ("signing", "key"): "signingkey",
    ("encryption", "key"): "encryptionkey",
    ("access", "token"): "accesstoken",
    ("auth", "token"): "authtoken",
    ("bearer", "token"): "bearertoken",
    ("refresh", "token"): "refreshtoken",
    ("session", "token"): "sessiontoken",
    ("oauth", "token"): "oauthtoken",
    ("api", "token"): "apitoken",
    ("environment", "variable"): "envvar",
    ("env", "var"): "envvar",
    ("seed", "phrase"): "seedphrase",
    # money
    ("credit", "card"): "creditcard",
    ("bank", "account"): "bankaccount",
    # descriptions
    ("read", "only"): "readonly",
    ("no", "side", "effect"): "nosideeffect",
    ("side", "effect", "free"): "nosideeffect",
    ("without", "side", "effect"): "nosideeffect",
    ("cannot", "be", "undo"): "irreversible",
    ("cannot", "be", "undone"): "irreversible",
    ("can", "not", "be", "undone"): "irreversible",
    ("irreversibly",): "irreversible",
    ("permanently",): "irreversible",
}

# Description lemmas that declare the tool read-only; they lower every write signal.
READ_ONLY_MARKERS: Final[frozenset[str]] = _words("readonly nosideeffect")

# Description lemmas that corroborate destruction ("This cannot be undone").
IRREVERSIBLE_MARKERS: Final[frozenset[str]] = _words("irreversible")

# Verbless names whose head names a sending endpoint (a tool called ``webhook``).
SENDING_HEADS: Final[frozenset[str]] = _words("webhook")

# --- Verb/object pairs that change the action ---------------------------------------------------

# (verb, object lemma or tag value) -> the action the pair really performs.
PAIR_ACTIONS: Final[dict[tuple[str, str], Action]] = {
    ("format", Tag.storage.value): Action.delete,
    ("reset", Tag.private.value): Action.delete,
    ("reset", Tag.storage.value): Action.delete,
    ("transfer", Tag.file.value): Action.send,
    ("transfer", Tag.privilege.value): Action.grant,
    ("open", Tag.infra.value): Action.operate,
    ("open", "issue"): Action.write,
    ("open", "pullrequest"): Action.write,
    ("open", "ticket"): Action.write,
    ("checkout", "cart"): Action.pay,
    ("process", Tag.money.value): Action.pay,
    ("authorize", Tag.money.value): Action.pay,
    ("approve", Tag.money.value): Action.pay,
    ("swap", Tag.money.value): Action.pay,
    ("sign", Tag.money.value): Action.pay,
    ("reset", Tag.secret.value): Action.grant,
    ("install", Tag.code.value): Action.execute,
    ("run", "migration"): Action.operate,
    ("execute", "migration"): Action.operate,
    # a scheduled or queued message is sent later
    ("schedule", Tag.channel.value): Action.send,
    ("enqueue", Tag.channel.value): Action.send,
}

# --- Parameters --------------------------------------------------------------------------------


class ParamRole(StrEnum):
    """What a tool parameter says about the tool."""

    url = "url"  # a network location
    person = "person"  # a recipient, address or channel
    content = "content"  # a message body
    code = "code"  # a command or script
    code_exact = "code_exact"  # a parameter named exactly ``code`` (also postcodes, coupons)
    sql = "sql"
    query = "query"
    money_strong = "money_strong"  # bank or card coordinates
    money_weak = "money_weak"  # an amount or currency
    path = "path"
    role = "role"


# Roles by whole parameter name (after joining its tokens with "_").
PARAM_NAMES: Final[dict[str, ParamRole]] = {
    "to": ParamRole.person,
    "cc": ParamRole.person,
    "bcc": ParamRole.person,
    "code": ParamRole.code_exact,
    "source_code": ParamRole.code,
    "python_code": ParamRole.code,
    "js_code": ParamRole.code,
    "query": ParamRole.query,
    "q": ParamRole.query,
    "account_number": ParamRole.money_strong,
    "routing_number": ParamRole.money_strong,
    "card_number": ParamRole.money_strong,
    "sort_code": ParamRole.money_strong,
}

# Roles by any token of a parameter name.
PARAM_TOKENS: Final[dict[str, ParamRole]] = {
    **dict.fromkeys(_words("url uri link href endpoint webhook"), ParamRole.url),
    **dict.fromkeys(
        _words("recipient email phone channel payee receiver addressee"), ParamRole.person
    ),
    **dict.fromkeys(_words("subject body message text content html caption"), ParamRole.content),
    **dict.fromkeys(
        _words("command cmd script shell expression snippet program javascript js"),
        ParamRole.code,
    ),
    "sql": ParamRole.sql,
    **dict.fromkeys(_words("iban swift bic cvv cvc"), ParamRole.money_strong),
    **dict.fromkeys(_words("amount currency"), ParamRole.money_weak),
    **dict.fromkeys(_words("path file filename filepath dir directory folder"), ParamRole.path),
    **dict.fromkeys(_words("role permission privilege"), ParamRole.role),
}

# JSON-schema ``format`` values that imply a role.
SCHEMA_FORMATS: Final[dict[str, ParamRole]] = {
    "uri": ParamRole.url,
    "url": ParamRole.url,
    "iri": ParamRole.url,
    "email": ParamRole.person,
    "idn-email": ParamRole.person,
}

# --- Weights -----------------------------------------------------------------------------------

# A capability is reported when its combined evidence 1 - prod(1 - w) reaches THRESHOLD.
THRESHOLD: Final = 0.5
NAME_PAIR: Final = 0.85  # verb + an object whose kind decides the capability (delete_user)
NAME_VERB_OBJECT: Final = 0.7  # verb + an object of unknown kind (update_spreadsheet)
NAME_STRONG_VERB_OBJECT: Final = 0.8  # delete/send/pay/grant/operate + unknown object (purge_queue)
NAME_VERB_ALONE: Final = 0.75  # a name that is a strong verb alone (rm, notify, refund)
NAME_WEAK_VERB_ALONE: Final = 0.45  # a generic write verb alone (add, set): needs corroboration
NAME_NOUN_ONLY: Final = 0.6  # a verbless name read as "get <objects>" (customer_records)
NAME_INTERPRETER: Final = 0.8  # a name that is an interpreter (bash, python_repl)
STRONG: Final = 0.85  # name evidence at least this strong survives read-only hints
DESCRIPTION_MAIN: Final = 0.75  # factor for the description's first action
DESCRIPTION_OTHER: Final = 0.35  # factor for later actions in the description
DESCRIPTION_IRREVERSIBLE: Final = 0.4
PARAM_STRONG: Final = 0.75
PARAM: Final = 0.6
PARAM_WEAK: Final = 0.5
PARAM_HINT: Final = 0.45
ANNOTATION_DESTRUCTIVE: Final = 0.8
ANNOTATION_OPEN_WORLD: Final = 0.6
ANNOTATION_MAY_WRITE: Final = 0.35
ANNOTATION_READ_ONLY: Final = 0.6
SCOPE_FROM_VERB: Final = 0.5
READ_ONLY_FACTOR: Final = 0.3  # applied to write evidence of a tool declared read-only
NEGATION_FACTOR: Final = 0.5  # applied to evidence for an effect the description denies
HINT_FALSE_FACTOR: Final = 0.5  # destructiveHint/openWorldHint explicitly false
CONFIDENCE_FLOOR: Final = 0.1  # a bare unknown name
CONFIDENCE_CEILING: Final = 0.99  # derived classifications are never certain

# --- Lemmas ------------------------------------------------------------------------------------

IRREGULAR_FORMS: Final[dict[str, str]] = {
    "sent": "send",
    "ran": "run",
    "wrote": "write",
    "written": "write",
    "paid": "pay",
    "bought": "buy",
    "sold": "sell",
    "got": "get",
    "gotten": "get",
    "found": "find",
    "made": "make",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "spent": "spend",
    "withdrew": "withdraw",
    "withdrawn": "withdraw",
    "overwrote": "overwrite",
    "overwritten": "overwrite",
    "rewrote": "rewrite",
    "rewritten": "rewrite",
    "undone": "undone",
    "does": "do",
    "did": "do",
    "done": "do",
    "has": "have",
    "had": "have",
    "people": "people",
    "data": "data",
    "media": "media",
    "settings": "setting",
    "details": "detail",
    "contents": "contents",
    "news": "news",
    "specs": "specs",
    "docs": "docs",
    "analyses": "analysis",
    "indices": "index",
    "statuses": "status",
    "aliases": "alias",
    "addresses": "address",
    "processes": "process",
    "accesses": "access",
}

_VOWELS = frozenset("aeiou")


def _inflections(word: str) -> Iterable[str]:
    """Regular English inflections of a base word (plural / 3rd person, past, gerund)."""
    if len(word) <= 2 or not word.isalpha():
        return ()
    forms: list[str] = []
    if word.endswith(("s", "x", "z", "ch", "sh")):
        forms.append(word + "es")
    elif word.endswith("y") and word[-2] not in _VOWELS:
        forms.append(word[:-1] + "ies")
    else:
        forms.append(word + "s")
    if word.endswith("e"):
        forms += [word + "d", word[:-1] + "ing"]
    elif word.endswith("y") and word[-2] not in _VOWELS:
        forms += [word[:-1] + "ied", word + "ing"]
    else:
        forms += [word + "ed", word + "ing"]
        # consonant-vowel-consonant endings double: drop -> dropped, run -> running
        consonant_end = word[-1] not in _VOWELS and word[-1] not in "wxy"
        if consonant_end and word[-2] in _VOWELS and word[-3] not in _VOWELS:
            forms += [word + word[-1] + "ed", word + word[-1] + "ing"]
    return forms


def _build_lemmas() -> dict[str, str]:
    bases: set[str] = set(VERB_ACTIONS) | set(OBJECT_TAGS) | set(AGENT_NOUNS) | set(NOMINALS)
    bases |= {word for phrase in PHRASES for word in phrase}
    bases |= set(PARAM_TOKENS)
    lemmas: dict[str, str] = {}
    for base in sorted(bases):
        for form in _inflections(base):
            # A form that is itself a base word keeps its own meaning ("news", "process").
            if form not in bases:
                lemmas.setdefault(form, base)
    lemmas.update(IRREGULAR_FORMS)
    return lemmas


LEMMAS: Final[dict[str, str]] = _build_lemmas()

# Phrase lookup by first lemma, longest phrase first, so merging is O(tokens * phrases per token).
PHRASES_BY_FIRST: Final[dict[str, tuple[tuple[tuple[str, ...], str], ...]]] = {
    first: tuple(
        sorted(
            ((key, value) for key, value in PHRASES.items() if key[0] == first),
            key=lambda item: -len(item[0]),
        )
    )
    for first in {key[0] for key in PHRASES}
}
