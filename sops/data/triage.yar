// evidencekit triage rules shipped with sops/malware-triage.yaml.
// A lab replaces or extends them with its own validated rule sets; these exist so that the
// procedure can be run and proficiency-tested end to end.

rule EICAR_Test_File
{
    meta:
        description = "EICAR anti-malware test file (harmless, used to test detection)"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
    strings:
        $eicar = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
        $head = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
    condition:
        $head at 0 and $eicar
}

rule Windows_PE_Executable
{
    meta:
        description = "A Windows PE executable (MZ header and PE signature): assess its name, location and times"
    condition:
        uint16(0) == 0x5A4D and uint32(uint32(0x3C)) == 0x00004550
}
