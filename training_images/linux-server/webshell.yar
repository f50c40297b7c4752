/*
  evidencekit training: linux-server scenario.
  Detects small PHP web shells that hand a request parameter to a command-execution function.
*/
rule php_webshell_request_exec
{
    meta:
        description = "PHP script passing a request parameter to system/passthru/shell_exec/exec"
        author = "evidencekit training"
        scenario = "linux-server"
    strings:
        $php = "<?php"
        $exec = /(system|passthru|shell_exec|exec|popen)\s*\(\s*\$_(REQUEST|GET|POST|COOKIE)\s*\[/
    condition:
        $php at 0 and $exec and filesize < 64KB
}
