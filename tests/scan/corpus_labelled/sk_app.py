from semantic_kernel import Kernel
from semantic_kernel.functions import kernel_function


class MigrationPlugin:
    @kernel_function(
        name="apply_migration",
        description="Apply the pending schema migrations to the production database.",
    )
    def migrate(self) -> str:
        return "applied"


kernel = Kernel()
kernel.add_plugin(MigrationPlugin(), plugin_name="db")
