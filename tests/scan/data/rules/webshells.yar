rule php_eval_base64_webshell : webshell php
{
    meta:
        description = "PHP web shell: eval of base64-decoded request data"
        author = "evidencekit tests"
        severity = 80
    strings:
        $php = "<?php"
        $eval = /eval\s*\(\s*base64_decode\s*\(/ nocase
        $req1 = "$_POST" 
        $req2 = "$_REQUEST"
        $req3 = "$_GET"
    condition:
        $php and $eval and any of ($req*)
}

rule china_chopper_aspx : webshell aspx
{
    meta:
        description = "China Chopper one-line ASPX shell"
        reference = "public descriptions of China Chopper"
    strings:
        $a = "<%@ Page Language=\"Jscript\"%>" nocase
        $b = /eval\(Request\.Item\[\"[^\"]{1,32}\"\],\s*\"unsafe\"\)/
    condition:
        all of them and filesize < 4KB
}
